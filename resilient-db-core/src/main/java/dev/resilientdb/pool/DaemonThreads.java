package dev.resilientdb.pool;

import java.util.concurrent.ThreadFactory;

/**
 * Threads of the starter's own executors: daemons, so they never hold up a JVM's exit, and without the
 * web application's class loader as their context class loader. An executor starts its thread lazily,
 * perhaps on a request thread, whose context class loader would then be inherited; Tomcat, which stops
 * before the application context destroys the beans that close the executors, reports every live
 * thread holding its class loader as a leak, at WARN with a stack trace, at each shutdown.
 */
public final class DaemonThreads {

    private DaemonThreads() {
    }

    /**
     * @param name the name of every thread of the factory
     * @return a factory of daemon threads with this class's class loader as their context class loader
     */
    public static ThreadFactory named(String name) {
        return (runnable) -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            thread.setContextClassLoader(DaemonThreads.class.getClassLoader());
            return thread;
        };
    }

}
