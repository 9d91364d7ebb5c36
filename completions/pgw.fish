# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pgw_global_optspecs
    string join \n h/help V/version
end

function __fish_pgw_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pgw_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pgw_using_subcommand
    set -l cmd (__fish_pgw_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pgw -n "__fish_pgw_needs_command" -s h -l help -d 'Print help'
complete -c pgw -n "__fish_pgw_needs_command" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "serve" -d 'Run a Pushgateway server, a drop-in replacement for the official one'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "push" -d 'Push metrics to a gateway; replaces the group (PUT) unless --add (POST, like curl\'s)'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "list" -d 'List a gateway\'s groups, or the metrics of one group'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "delete" -d 'Delete one group, or every group matching a selector and/or not pushed for a while'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "wipe" -d 'Delete every group of a gateway'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "relay" -d 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.listen-address -l listen -d 'Address to listen on for the web interface, API and telemetry (repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.telemetry-path -d 'Path under which to expose the server\'s metrics (the push API stays at /metrics/job/...)' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.external-url -d 'The URL under which the gateway is reached from outside; its path is the default route prefix' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.route-prefix -d 'Prefix for every route (defaults to the path of --web.external-url)' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l persistence.file -d 'File in which to keep the store across restarts; empty means memory only' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l persistence.interval -d 'Longest time between two compactions of the persistence log into its snapshot (every change is on disk before it is answered; the log is also compacted whenever it outgrows the snapshot)' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-body-size -d 'Largest push body accepted after decompression, in bytes' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.read-timeout -d 'Time limit for reading a push body; a slower client gets 408' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l expire-after -d 'Delete a group not pushed for this long (off by default, as upstream keeps groups forever). A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.aggregate-jobs -d 'POSTs to groups whose job matches this regex (anchored) aggregate, as if they sent the header `Pgw-Aggregate: sum`: counters, histograms and summaries add into the group\'s' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-series -d 'Most series in one push (413 beyond); 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-label-name-length -d 'Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-label-value-length -d 'Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-grouping-key-labels -d 'Most labels in a push\'s grouping key, job included (400 beyond); 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-inflight-bytes -d 'Most bytes of push bodies read and parsed at once, server-wide, compressed and decompressed counted; a push that would go beyond gets 503 with Retry-After. At least twice --push.max-body-size, so that one push of the largest size always fits; 0 for no limit. [default: 256 MiB, or twice --push.max-body-size if that is more]' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.max-groups -d 'Most groups in the store; a push that would add one more gets 429; 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.max-series -d 'Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l log.level -d 'Only log messages at or above this level' -r -f -a "debug\t''
info\t''
warn\t''
error\t''"
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l log.format -d 'Output format of log messages' -r -f -a "logfmt\t''
json\t''"
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l persistence.import -d 'The official Pushgateway\'s persistence file, whose groups are taken over at start-up while pgw\'s store has never taken a change (with --persistence.file, only once; the official file is only read)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.config.file -d 'The official web configuration file (TLS, basic auth users who get every role, headers, rate limit), in the exporter-toolkit format. Reloaded when it changes and on SIGHUP' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l auth.file -d 'pgw\'s role file: credentials for the push, read and admin roles, push credentials optionally scoped to jobs (see the README). Reloaded when it changes and on SIGHUP' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.tls-cert-file -d 'Serve HTTPS with this PEM certificate (chain) file; needs --web.tls-key-file. Reloaded when it changes and on SIGHUP' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.tls-key-file -d 'PEM private key for --web.tls-cert-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.read-header-timeout -d 'Close a connection that takes longer than this to finish its TLS handshake or send a request\'s headers, or that stays idle this long between requests' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.endpoints -d 'Keep the store in etcd (v3 API, comma-separated client URLs, http:// or https://) and run as one replica of a cluster: every replica serves the whole store, and a change is answered once etcd has committed it. Excludes --persistence.file' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.prefix -d 'Key prefix of the store in etcd; clusters sharing one etcd use different prefixes' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.ca-file -d 'PEM file of the CA that signs etcd\'s server certificates (default: the web PKI roots)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.cert-file -d 'PEM client certificate for etcd\'s --client-cert-auth; needs --store.etcd.key-file' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.key-file -d 'PEM private key for --store.etcd.cert-file' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.username -d 'etcd user to authenticate as; needs --store.etcd.password-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.password-file -d 'File that holds the etcd user\'s password (one line)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.timeout -d 'Time limit of one etcd request: a change that cannot be committed within it gets 503' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.max-staleness -d '/-/ready fails when this replica\'s view of etcd was last confirmed current longer ago than this (etcd unreachable); scrapes keep serving the view' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.compaction-interval -d 'How often a replica compacts etcd\'s history, up to the revision it saw one interval before; 0 never' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.max-request-bytes -d 'etcd\'s --max-request-bytes: a group whose record is larger is refused with 413' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.max-txn-ops -d 'etcd\'s --max-txn-ops: how many groups one transaction may write' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.etcd.import -d 'Fill an empty etcd prefix once from this pgw persistence file (what --persistence.file named); a prefix that holds groups is left as it is' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.enable-lifecycle -d 'Enable shutdown via HTTP: PUT or POST /-/quit'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.enable-admin-api -d 'Enable the admin API: PUT /api/v1/admin/wipe deletes every group'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.disable-consistency-check -d 'Answer accepted pushes with 202 instead of 200, as the official server does with this flag. pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.enable-utf8-names -d 'Allow UTF-8 characters in metric and label names: quoted names in text pushes, and label names in push paths (raw, percent-encoded or U__-escaped). Protobuf pushes may carry UTF-8 names either way, as with the official server'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l persistence.recover -d 'Start even if the persistence files are damaged: keep every valid record, move the damaged files aside (FILE.damaged-UNIXTIME) and report how many records were lost'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.systemd-socket -d 'Serve on the sockets systemd passes (socket activation, Linux); --web.listen-address is then ignored'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -s h -l help -d 'Print help'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand push" -s j -l job -d 'The job label of the group to push to (needed unless a push URL names the group)' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -s l -l label -d 'Another grouping label of the group, NAME=VALUE (repeatable); any value works, even empty or with `/`' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -s f -l file -d 'File of metrics in the text format (repeatable); `-` is stdin, which is read anyway when nothing else is given' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand push" -l type -d 'Type of the metrics given as arguments' -r -f -a "gauge\t''
counter\t''
untyped\t''"
complete -c pgw -n "__fish_pgw_using_subcommand push" -l help-text -d 'HELP text of the metrics given as arguments' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l aggregate-gauges -d 'With --aggregate: how the gateway combines pushed gauges with the group\'s (header Pgw-Aggregate-Gauges); without it the gateway keeps the last pushed value' -r -f -a "last\t'The pushed value replaces the group\'s (the gateway\'s default)'
sum\t'The values add up'
max\t'The larger value stays'
min\t'The smaller value stays'"
complete -c pgw -n "__fish_pgw_using_subcommand push" -l expire-after -d 'Ask the gateway to drop the group when no push came for this long (header Pgw-Expire-After; pgw serve only)' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l gzip -d 'Compress the body with gzip: auto does so above 64 KiB' -r -f -a "auto\t'Above 64 KiB, falling back to a plain body if the gateway refuses the compressed one'
always\t'Always, for gateways that are known to accept it'
never\t'Never, for gateways that do not decompress'"
complete -c pgw -n "__fish_pgw_using_subcommand push" -s g -l gateway -d 'The gateway\'s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l ca-cert -d 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand push" -s u -l user -d 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l password -d 'Password for basic auth; prefer --password-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l password-file -d 'File whose first line is the basic-auth password' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand push" -l token -d 'Bearer token; prefer --token-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l token-file -d 'File whose first line is a bearer token' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand push" -l timeout -d 'Time limit for each request to a gateway' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l retries -d 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx' -r
complete -c pgw -n "__fish_pgw_using_subcommand push" -l replace -d 'Replace the whole group with this push (HTTP PUT); the default without a wrapped command'
complete -c pgw -n "__fish_pgw_using_subcommand push" -l add -d 'Replace only the families in this push, keep the group\'s others (HTTP POST); always so with a wrapped command'
complete -c pgw -n "__fish_pgw_using_subcommand push" -l aggregate -d 'Ask the gateway to add this push into the group (HTTP POST with the header Pgw-Aggregate: sum): counters, histograms and summaries\' _sum and _count add up across pushes, gauges are combined as --aggregate-gauges says; untyped metrics and negative counters are refused. pgw serve only: the official Pushgateway ignores the header and merges the push as a plain POST (--add), and pgw cannot tell. With a wrapped command, it also pushes run and failure counters and a duration histogram'
complete -c pgw -n "__fish_pgw_using_subcommand push" -l strip-timestamps -d 'Remove sample timestamps instead of refusing the input (the gateway refuses timestamps)'
complete -c pgw -n "__fish_pgw_using_subcommand push" -l utf8-names -d 'Allow UTF-8 metric and label names: quoted in the input ("my.metric" 1) and in --label names, for a gateway started with --push.enable-utf8-names'
complete -c pgw -n "__fish_pgw_using_subcommand push" -l dry-run -d 'Check the input and print the body that would be sent, without sending it'
complete -c pgw -n "__fish_pgw_using_subcommand push" -l insecure -d 'Do not check the gateways\' TLS certificates (the connection stays encrypted)'
complete -c pgw -n "__fish_pgw_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pgw -n "__fish_pgw_using_subcommand push" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand list" -s j -l job -d 'The group\'s job' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -s l -l label -d 'Another grouping label of the group (repeatable); `NAME=` is an empty value' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -s s -l selector -d 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -l stale -d 'Only groups whose last successful push is older than this, or that have none (`90s`, `1h`, `2d`)' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -s o -l output -d 'Output format' -r -f -a "table\t'A table that fits the terminal'
wide\t'The table with more columns (push times, last failure, time to live, URL path)'
json\t'JSON, in the shape the README documents'"
complete -c pgw -n "__fish_pgw_using_subcommand list" -l sort -d 'Order of the groups (label values in natural order: web-2 before web-10)' -r -f -a "status\t'Failed groups first, then by labels'
labels\t'By labels: job first, then the other labels'
age\t'By age: oldest push first'"
complete -c pgw -n "__fish_pgw_using_subcommand list" -s g -l gateway -d 'The gateway\'s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -l ca-cert -d 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand list" -s u -l user -d 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -l password -d 'Password for basic auth; prefer --password-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -l password-file -d 'File whose first line is the basic-auth password' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand list" -l token -d 'Bearer token; prefer --token-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -l token-file -d 'File whose first line is a bearer token' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand list" -l timeout -d 'Time limit for each request to a gateway' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -l retries -d 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx' -r
complete -c pgw -n "__fish_pgw_using_subcommand list" -l failed -d 'Only failed groups: the last push was refused, or the job `pgw push --` wrapped exited non-zero'
complete -c pgw -n "__fish_pgw_using_subcommand list" -l metrics -d 'Show the metrics of one group: the one named, or the only one matching the filters'
complete -c pgw -n "__fish_pgw_using_subcommand list" -s r -l reverse -d 'Reverse the order'
complete -c pgw -n "__fish_pgw_using_subcommand list" -l fail-if-none -d 'Exit with 8 when no group is listed'
complete -c pgw -n "__fish_pgw_using_subcommand list" -l insecure -d 'Do not check the gateways\' TLS certificates (the connection stays encrypted)'
complete -c pgw -n "__fish_pgw_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pgw -n "__fish_pgw_using_subcommand list" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s j -l job -d 'The group\'s job' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s l -l label -d 'Another grouping label of the group (repeatable); `NAME=` is an empty value' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s s -l selector -d 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l stale -d 'Only groups whose last successful push is older than this, or that have none (`90s`, `1h`, `2d`)' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s g -l gateway -d 'The gateway\'s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l ca-cert -d 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s u -l user -d 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l password -d 'Password for basic auth; prefer --password-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l password-file -d 'File whose first line is the basic-auth password' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l token -d 'Bearer token; prefer --token-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l token-file -d 'File whose first line is a bearer token' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l timeout -d 'Time limit for each request to a gateway' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l retries -d 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx' -r
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s n -l dry-run -d 'Print what would be deleted, delete nothing'
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l fail-if-none -d 'Exit with 8 when no group matched (for scripts that want to know)'
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s y -l yes -d 'Do not ask when the selection is every group on the gateway (required then when stdin is not a terminal)'
complete -c pgw -n "__fish_pgw_using_subcommand delete" -l insecure -d 'Do not check the gateways\' TLS certificates (the connection stays encrypted)'
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s h -l help -d 'Print help'
complete -c pgw -n "__fish_pgw_using_subcommand delete" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -s g -l gateway -d 'The gateway\'s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group' -r
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l ca-cert -d 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -s u -l user -d 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l password -d 'Password for basic auth; prefer --password-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l password-file -d 'File whose first line is the basic-auth password' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l token -d 'Bearer token; prefer --token-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l token-file -d 'File whose first line is a bearer token' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l timeout -d 'Time limit for each request to a gateway' -r
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l retries -d 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx' -r
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -s y -l yes -d 'Do not ask for confirmation (required when stdin is not a terminal)'
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l per-group -d 'Delete the groups one by one (for a gateway whose admin API is off)'
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -l insecure -d 'Do not check the gateways\' TLS certificates (the connection stays encrypted)'
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -s h -l help -d 'Print help'
complete -c pgw -n "__fish_pgw_using_subcommand wipe" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l from -d 'Exporter to scrape, as URL or JOB=URL (repeatable; each goes to its own group). As in Prometheus\' targets, `host:9100` means http://host:9100/metrics' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s j -l job -d 'Job of the exporters given without JOB= in --from' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l instance -d 'The instance label of the groups (default: this host\'s name)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s l -l label -d 'A further grouping label (repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l every -d 'Keep running, scraping and pushing once per interval (with a little jitter). A failed push is then retried until the next cycle is due, instead of --retries times' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l scrape-timeout -d 'Time limit of a scrape (default: 10s, and at most half the interval)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l max-size -d 'Largest exporter answer accepted, in bytes after decompression; a larger one is a failed scrape' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l keep -d 'Relay only the metric families whose name matches this regex (repeatable). Anchored as in Prometheus: it must match the whole name, so a prefix is `node_load.*`; a warning says when the filters leave no family' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l drop -d 'Leave out the metric families whose name matches this regex (whole name, anchored; repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l expire-after -d 'Ask `pgw serve` to delete a group not pushed for this long (header Pgw-Expire-After; the official server ignores it). Default with --every: 3 intervals; 0s: never' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l remote-write -d 'Also (or instead) send the samples with the Prometheus remote-write protocol to this URL (repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l log.level -d 'Only log messages at or above this level' -r -f -a "debug\t''
info\t''
warn\t''
error\t''"
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l log.format -d 'Output format of log messages' -r -f -a "logfmt\t''
json\t''"
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s g -l gateway -d 'A gateway\'s URL (repeatable, or commas in PGW_GATEWAY; default http://localhost:9091 unless --remote-write is given; an empty PGW_GATEWAY counts as unset)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l fanout -d 'With several gateways: give every push to all of them, or each group to one chosen by hash' -r -f -a "all\t'Every gateway gets every push'
hash\t'Each group goes to one gateway, chosen by a consistent hash of its grouping key'"
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l ca-cert -d 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s u -l user -d 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l password -d 'Password for basic auth; prefer --password-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l password-file -d 'File whose first line is the basic-auth password' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l token -d 'Bearer token; prefer --token-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l token-file -d 'File whose first line is a bearer token' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l timeout -d 'Time limit for each request to a gateway' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l retries -d 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l insecure -d 'Do not check the gateways\' TLS certificates (the connection stays encrypted)'
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve push list delete wipe relay help" -f -a "serve" -d 'Run a Pushgateway server, a drop-in replacement for the official one'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve push list delete wipe relay help" -f -a "push" -d 'Push metrics to a gateway; replaces the group (PUT) unless --add (POST, like curl\'s)'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve push list delete wipe relay help" -f -a "list" -d 'List a gateway\'s groups, or the metrics of one group'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve push list delete wipe relay help" -f -a "delete" -d 'Delete one group, or every group matching a selector and/or not pushed for a while'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve push list delete wipe relay help" -f -a "wipe" -d 'Delete every group of a gateway'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve push list delete wipe relay help" -f -a "relay" -d 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve push list delete wipe relay help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
