#!/usr/bin/env bash
# Writes this module's Spring Boot 3.5 sources into $1: the Spring Boot 4 module's main and test
# sources and resources, with each Spring Boot 4 name in boot4-to-boot3.tsv replaced by its 3.5 name.
# A file under this module's own src/ (same path after translation) replaces the translated one.
set -euo pipefail
module=$(cd "$(dirname "$0")" && pwd)
boot4=$module/../resilient-db-autoconfigure/src
out=$1
script=$(mktemp)
trap 'rm -f "$script"' EXIT
while IFS=$'\t' read -r from to; do
    [ -n "$from" ] || continue
    start=''; end=''
    [[ $from =~ ^[[:alnum:]_] ]] && start='\b'
    [[ $from =~ [[:alnum:]_]$ ]] && end='\b'
    from=$(printf '%s' "$from" | sed 's/[.[\*^$/]/\\&/g')
    to=$(printf '%s' "$to" | sed 's/[\/&]/\\&/g')
    printf 's/%s%s%s/%s/g\n' "$start" "$from" "$end" "$to" >> "$script"
done < "$module/boot4-to-boot3.tsv"
rm -rf "$out"
for kind in main/java main/resources test/java test/resources; do
    [ -d "$boot4/$kind" ] || continue
    (cd "$boot4/$kind" && find . -type f) | while read -r file; do
        target=$(printf '%s' "${file#./}" | sed -f "$script")
        [ -e "$module/src/$kind/$target" ] && continue
        mkdir -p "$(dirname "$out/$kind/$target")"
        sed -f "$script" "$boot4/$kind/$file" > "$out/$kind/$target"
    done
done
