
use builtin;
use str;

set edit:completion:arg-completer[pgw] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'pgw'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'pgw'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run a Pushgateway server, a drop-in replacement for the official one'
            cand push 'Push metrics to a gateway; replaces the group (PUT) unless --add (POST, like curl''s)'
            cand list 'List a gateway''s groups, or the metrics of one group'
            cand delete 'Delete one group, or every group matching a selector and/or not pushed for a while'
            cand wipe 'Delete every group of a gateway'
            cand relay 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pgw;serve'= {
            cand --web.listen-address 'Address to listen on for the web interface, API and telemetry (repeatable)'
            cand --listen 'Address to listen on for the web interface, API and telemetry (repeatable)'
            cand --web.telemetry-path 'Path under which to expose the server''s metrics (the push API stays at /metrics/job/...)'
            cand --web.external-url 'The URL under which the gateway is reached from outside; its path is the default route prefix'
            cand --web.route-prefix 'Prefix for every route (defaults to the path of --web.external-url)'
            cand --persistence.file 'File in which to keep the store across restarts; empty means memory only'
            cand --persistence.interval 'Longest time between two compactions of the persistence log into its snapshot (every change is on disk before it is answered; the log is also compacted whenever it outgrows the snapshot)'
            cand --push.max-body-size 'Largest push body accepted after decompression, in bytes'
            cand --web.read-timeout 'Time limit for reading a push body; a slower client gets 408'
            cand --expire-after 'Delete a group not pushed for this long (off by default, as upstream keeps groups forever). A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`'
            cand --push.aggregate-jobs 'POSTs to groups whose job matches this regex (anchored) aggregate, as if they sent the header `Pgw-Aggregate: sum`: counters, histograms and summaries add into the group''s'
            cand --push.max-series 'Most series in one push (413 beyond); 0 for no limit'
            cand --push.max-label-name-length 'Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit'
            cand --push.max-label-value-length 'Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit'
            cand --push.max-grouping-key-labels 'Most labels in a push''s grouping key, job included (400 beyond); 0 for no limit'
            cand --push.max-inflight-bytes 'Most bytes of push bodies read and parsed at once, server-wide, compressed and decompressed counted; a push that would go beyond gets 503 with Retry-After. At least twice --push.max-body-size, so that one push of the largest size always fits; 0 for no limit. [default: 256 MiB, or twice --push.max-body-size if that is more]'
            cand --store.max-groups 'Most groups in the store; a push that would add one more gets 429; 0 for no limit'
            cand --store.max-series 'Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit'
            cand --log.level 'Only log messages at or above this level'
            cand --log.format 'Output format of log messages'
            cand --persistence.import 'The official Pushgateway''s persistence file, whose groups are taken over at start-up while pgw''s store has never taken a change (with --persistence.file, only once; the official file is only read)'
            cand --web.config.file 'The official web configuration file (TLS, basic auth users who get every role, headers, rate limit), in the exporter-toolkit format. Reloaded when it changes and on SIGHUP'
            cand --auth.file 'pgw''s role file: credentials for the push, read and admin roles, push credentials optionally scoped to jobs (see the README). Reloaded when it changes and on SIGHUP'
            cand --web.tls-cert-file 'Serve HTTPS with this PEM certificate (chain) file; needs --web.tls-key-file. Reloaded when it changes and on SIGHUP'
            cand --web.tls-key-file 'PEM private key for --web.tls-cert-file'
            cand --web.read-header-timeout 'Close a connection that takes longer than this to finish its TLS handshake or send a request''s headers, or that stays idle this long between requests'
            cand --web.enable-lifecycle 'Enable shutdown via HTTP: PUT or POST /-/quit'
            cand --web.enable-admin-api 'Enable the admin API: PUT /api/v1/admin/wipe deletes every group'
            cand --push.disable-consistency-check 'Answer accepted pushes with 202 instead of 200, as the official server does with this flag. pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones'
            cand --push.enable-utf8-names 'Allow UTF-8 characters in metric and label names: quoted names in text pushes, and label names in push paths (raw, percent-encoded or U__-escaped). Protobuf pushes may carry UTF-8 names either way, as with the official server'
            cand --persistence.recover 'Start even if the persistence files are damaged: keep every valid record, move the damaged files aside (FILE.damaged-UNIXTIME) and report how many records were lost'
            cand --web.systemd-socket 'Serve on the sockets systemd passes (socket activation, Linux); --web.listen-address is then ignored'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;push'= {
            cand -j 'The job label of the group to push to (needed unless a push URL names the group)'
            cand --job 'The job label of the group to push to (needed unless a push URL names the group)'
            cand -l 'Another grouping label of the group, NAME=VALUE (repeatable); any value works, even empty or with `/`'
            cand --label 'Another grouping label of the group, NAME=VALUE (repeatable); any value works, even empty or with `/`'
            cand -f 'File of metrics in the text format (repeatable); `-` is stdin, which is read anyway when nothing else is given'
            cand --file 'File of metrics in the text format (repeatable); `-` is stdin, which is read anyway when nothing else is given'
            cand --type 'Type of the metrics given as arguments'
            cand --help-text 'HELP text of the metrics given as arguments'
            cand --aggregate-gauges 'With --aggregate: how the gateway combines pushed gauges with the group''s (header Pgw-Aggregate-Gauges); without it the gateway keeps the last pushed value'
            cand --expire-after 'Ask the gateway to drop the group when no push came for this long (header Pgw-Expire-After; pgw serve only)'
            cand --gzip 'Compress the body with gzip: auto does so above 64 KiB'
            cand -g 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --gateway 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --ca-cert 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)'
            cand -u 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --user 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --password 'Password for basic auth; prefer --password-file, since the environment can leak'
            cand --password-file 'File whose first line is the basic-auth password'
            cand --token 'Bearer token; prefer --token-file, since the environment can leak'
            cand --token-file 'File whose first line is a bearer token'
            cand --timeout 'Time limit for each request to a gateway'
            cand --retries 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx'
            cand --replace 'Replace the whole group with this push (HTTP PUT); the default without a wrapped command'
            cand --add 'Replace only the families in this push, keep the group''s others (HTTP POST); always so with a wrapped command'
            cand --aggregate 'Ask the gateway to add this push into the group (HTTP POST with the header Pgw-Aggregate: sum): counters, histograms and summaries'' _sum and _count add up across pushes, gauges are combined as --aggregate-gauges says; untyped metrics and negative counters are refused. pgw serve only: the official Pushgateway ignores the header and merges the push as a plain POST (--add), and pgw cannot tell. With a wrapped command, it also pushes run and failure counters and a duration histogram'
            cand --strip-timestamps 'Remove sample timestamps instead of refusing the input (the gateway refuses timestamps)'
            cand --utf8-names 'Allow UTF-8 metric and label names: quoted in the input ("my.metric" 1) and in --label names, for a gateway started with --push.enable-utf8-names'
            cand --dry-run 'Check the input and print the body that would be sent, without sending it'
            cand --insecure 'Do not check the gateways'' TLS certificates (the connection stays encrypted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;list'= {
            cand -j 'The group''s job'
            cand --job 'The group''s job'
            cand -l 'Another grouping label of the group (repeatable); `NAME=` is an empty value'
            cand --label 'Another grouping label of the group (repeatable); `NAME=` is an empty value'
            cand -s 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)'
            cand --selector 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)'
            cand --stale 'Only groups whose last successful push is older than this, or that have none (`90s`, `1h`, `2d`)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --sort 'Order of the groups (label values in natural order: web-2 before web-10)'
            cand -g 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --gateway 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --ca-cert 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)'
            cand -u 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --user 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --password 'Password for basic auth; prefer --password-file, since the environment can leak'
            cand --password-file 'File whose first line is the basic-auth password'
            cand --token 'Bearer token; prefer --token-file, since the environment can leak'
            cand --token-file 'File whose first line is a bearer token'
            cand --timeout 'Time limit for each request to a gateway'
            cand --retries 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx'
            cand --failed 'Only failed groups: the last push was refused, or the job `pgw push --` wrapped exited non-zero'
            cand --metrics 'Show the metrics of one group: the one named, or the only one matching the filters'
            cand -r 'Reverse the order'
            cand --reverse 'Reverse the order'
            cand --fail-if-none 'Exit with 8 when no group is listed'
            cand --insecure 'Do not check the gateways'' TLS certificates (the connection stays encrypted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;delete'= {
            cand -j 'The group''s job'
            cand --job 'The group''s job'
            cand -l 'Another grouping label of the group (repeatable); `NAME=` is an empty value'
            cand --label 'Another grouping label of the group (repeatable); `NAME=` is an empty value'
            cand -s 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)'
            cand --selector 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)'
            cand --stale 'Only groups whose last successful push is older than this, or that have none (`90s`, `1h`, `2d`)'
            cand -g 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --gateway 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --ca-cert 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)'
            cand -u 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --user 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --password 'Password for basic auth; prefer --password-file, since the environment can leak'
            cand --password-file 'File whose first line is the basic-auth password'
            cand --token 'Bearer token; prefer --token-file, since the environment can leak'
            cand --token-file 'File whose first line is a bearer token'
            cand --timeout 'Time limit for each request to a gateway'
            cand --retries 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx'
            cand -n 'Print what would be deleted, delete nothing'
            cand --dry-run 'Print what would be deleted, delete nothing'
            cand --fail-if-none 'Exit with 8 when no group matched (for scripts that want to know)'
            cand -y 'Do not ask when the selection is every group on the gateway (required then when stdin is not a terminal)'
            cand --yes 'Do not ask when the selection is every group on the gateway (required then when stdin is not a terminal)'
            cand --insecure 'Do not check the gateways'' TLS certificates (the connection stays encrypted)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;wipe'= {
            cand -g 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --gateway 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group'
            cand --ca-cert 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)'
            cand -u 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --user 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --password 'Password for basic auth; prefer --password-file, since the environment can leak'
            cand --password-file 'File whose first line is the basic-auth password'
            cand --token 'Bearer token; prefer --token-file, since the environment can leak'
            cand --token-file 'File whose first line is a bearer token'
            cand --timeout 'Time limit for each request to a gateway'
            cand --retries 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx'
            cand -y 'Do not ask for confirmation (required when stdin is not a terminal)'
            cand --yes 'Do not ask for confirmation (required when stdin is not a terminal)'
            cand --per-group 'Delete the groups one by one (for a gateway whose admin API is off)'
            cand --insecure 'Do not check the gateways'' TLS certificates (the connection stays encrypted)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;relay'= {
            cand --from 'Exporter to scrape, as URL or JOB=URL (repeatable; each goes to its own group). As in Prometheus'' targets, `host:9100` means http://host:9100/metrics'
            cand -j 'Job of the exporters given without JOB= in --from'
            cand --job 'Job of the exporters given without JOB= in --from'
            cand --instance 'The instance label of the groups (default: this host''s name)'
            cand -l 'A further grouping label (repeatable)'
            cand --label 'A further grouping label (repeatable)'
            cand --every 'Keep running, scraping and pushing once per interval (with a little jitter). A failed push is then retried until the next cycle is due, instead of --retries times'
            cand --scrape-timeout 'Time limit of a scrape (default: 10s, and at most half the interval)'
            cand --max-size 'Largest exporter answer accepted, in bytes after decompression; a larger one is a failed scrape'
            cand --keep 'Relay only the metric families whose name matches this regex (repeatable). Anchored as in Prometheus: it must match the whole name, so a prefix is `node_load.*`; a warning says when the filters leave no family'
            cand --drop 'Leave out the metric families whose name matches this regex (whole name, anchored; repeatable)'
            cand --expire-after 'Ask `pgw serve` to delete a group not pushed for this long (header Pgw-Expire-After; the official server ignores it). Default with --every: 3 intervals; 0s: never'
            cand --remote-write 'Also (or instead) send the samples with the Prometheus remote-write protocol to this URL (repeatable)'
            cand --log.level 'Only log messages at or above this level'
            cand --log.format 'Output format of log messages'
            cand -g 'A gateway''s URL (repeatable, or commas in PGW_GATEWAY; default http://localhost:9091 unless --remote-write is given; an empty PGW_GATEWAY counts as unset)'
            cand --gateway 'A gateway''s URL (repeatable, or commas in PGW_GATEWAY; default http://localhost:9091 unless --remote-write is given; an empty PGW_GATEWAY counts as unset)'
            cand --fanout 'With several gateways: give every push to all of them, or each group to one chosen by hash'
            cand --ca-cert 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)'
            cand -u 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --user 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file'
            cand --password 'Password for basic auth; prefer --password-file, since the environment can leak'
            cand --password-file 'File whose first line is the basic-auth password'
            cand --token 'Bearer token; prefer --token-file, since the environment can leak'
            cand --token-file 'File whose first line is a bearer token'
            cand --timeout 'Time limit for each request to a gateway'
            cand --retries 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx'
            cand --insecure 'Do not check the gateways'' TLS certificates (the connection stays encrypted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;help'= {
            cand serve 'Run a Pushgateway server, a drop-in replacement for the official one'
            cand push 'Push metrics to a gateway; replaces the group (PUT) unless --add (POST, like curl''s)'
            cand list 'List a gateway''s groups, or the metrics of one group'
            cand delete 'Delete one group, or every group matching a selector and/or not pushed for a while'
            cand wipe 'Delete every group of a gateway'
            cand relay 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pgw;help;serve'= {
        }
        &'pgw;help;push'= {
        }
        &'pgw;help;list'= {
        }
        &'pgw;help;delete'= {
        }
        &'pgw;help;wipe'= {
        }
        &'pgw;help;relay'= {
        }
        &'pgw;help;help'= {
        }
    ]
    $completions[$command]
}
