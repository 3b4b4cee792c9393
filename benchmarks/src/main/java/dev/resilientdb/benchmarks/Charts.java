package dev.resilientdb.benchmarks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler.LegendPosition;

/** Bar charts of measured numbers, drawn with XChart as PNG files next to the document. */
final class Charts {

    private Charts() {
    }

    /** One series of bars, one bar per category. */
    record Series(String name, List<? extends Number> values, List<? extends Number> errors) {

        static Series of(String name, List<? extends Number> values) {
            return new Series(name, values, null);
        }

    }

    static void bars(Path file, String title, String yAxis, String decimalPattern, List<String> categories,
            List<Series> series) throws IOException {
        CategoryChart chart = new CategoryChartBuilder().width(900).height(480).title(title).yAxisTitle(yAxis).build();
        chart.getStyler().setLegendPosition(LegendPosition.OutsideS);
        chart.getStyler().setLegendVisible(series.size() > 1);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        chart.getStyler().setDecimalPattern(decimalPattern);
        chart.getStyler().setYAxisMin(0.0);
        double highest = series.stream().flatMap((one) -> one.values().stream()).mapToDouble(Number::doubleValue).max().orElse(0);
        if (highest <= 0) {
            // all zero (nothing failed): draw an axis that shows it, not an empty plot
            chart.getStyler().setYAxisMax(1.0);
        }
        for (Series one : series) {
            if (one.errors() != null) {
                chart.addSeries(one.name(), categories, one.values(), one.errors());
            }
            else {
                chart.addSeries(one.name(), categories, one.values());
            }
        }
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapFormat.PNG);
    }

}
