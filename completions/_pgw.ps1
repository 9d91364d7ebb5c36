
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'pgw' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'pgw'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'pgw' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run a Pushgateway server, a drop-in replacement for the official one')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push metrics to a gateway; replaces the group (PUT) unless --add (POST, like curl''s)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List a gateway''s groups, or the metrics of one group')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete one group, or every group matching a selector and/or not pushed for a while')
            [CompletionResult]::new('wipe', 'wipe', [CompletionResultType]::ParameterValue, 'Delete every group of a gateway')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'pgw;serve' {
            [CompletionResult]::new('--web.listen-address', '--web.listen-address', [CompletionResultType]::ParameterName, 'Address to listen on for the web interface, API and telemetry (repeatable)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on for the web interface, API and telemetry (repeatable)')
            [CompletionResult]::new('--web.telemetry-path', '--web.telemetry-path', [CompletionResultType]::ParameterName, 'Path under which to expose the server''s metrics (the push API stays at /metrics/job/...)')
            [CompletionResult]::new('--web.external-url', '--web.external-url', [CompletionResultType]::ParameterName, 'The URL under which the gateway is reached from outside; its path is the default route prefix')
            [CompletionResult]::new('--web.route-prefix', '--web.route-prefix', [CompletionResultType]::ParameterName, 'Prefix for every route (defaults to the path of --web.external-url)')
            [CompletionResult]::new('--persistence.file', '--persistence.file', [CompletionResultType]::ParameterName, 'File in which to keep the store across restarts; empty means memory only')
            [CompletionResult]::new('--persistence.interval', '--persistence.interval', [CompletionResultType]::ParameterName, 'Longest time between two compactions of the persistence log into its snapshot (every change is on disk before it is answered; the log is also compacted whenever it outgrows the snapshot)')
            [CompletionResult]::new('--push.max-body-size', '--push.max-body-size', [CompletionResultType]::ParameterName, 'Largest push body accepted after decompression, in bytes')
            [CompletionResult]::new('--web.read-timeout', '--web.read-timeout', [CompletionResultType]::ParameterName, 'Time limit for reading a push body; a slower client gets 408')
            [CompletionResult]::new('--expire-after', '--expire-after', [CompletionResultType]::ParameterName, 'Delete a group not pushed for this long (off by default, as upstream keeps groups forever). A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`')
            [CompletionResult]::new('--push.aggregate-jobs', '--push.aggregate-jobs', [CompletionResultType]::ParameterName, 'POSTs to groups whose job matches this regex (anchored) aggregate, as if they sent the header `Pgw-Aggregate: sum`: counters, histograms and summaries add into the group''s')
            [CompletionResult]::new('--push.max-series', '--push.max-series', [CompletionResultType]::ParameterName, 'Most series in one push (413 beyond); 0 for no limit')
            [CompletionResult]::new('--push.max-label-name-length', '--push.max-label-name-length', [CompletionResultType]::ParameterName, 'Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit')
            [CompletionResult]::new('--push.max-label-value-length', '--push.max-label-value-length', [CompletionResultType]::ParameterName, 'Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit')
            [CompletionResult]::new('--push.max-grouping-key-labels', '--push.max-grouping-key-labels', [CompletionResultType]::ParameterName, 'Most labels in a push''s grouping key, job included (400 beyond); 0 for no limit')
            [CompletionResult]::new('--push.max-inflight-bytes', '--push.max-inflight-bytes', [CompletionResultType]::ParameterName, 'Most bytes of push bodies read and parsed at once, server-wide, compressed and decompressed counted; a push that would go beyond gets 503 with Retry-After. At least twice --push.max-body-size, so that one push of the largest size always fits; 0 for no limit. [default: 256 MiB, or twice --push.max-body-size if that is more]')
            [CompletionResult]::new('--store.max-groups', '--store.max-groups', [CompletionResultType]::ParameterName, 'Most groups in the store; a push that would add one more gets 429; 0 for no limit')
            [CompletionResult]::new('--store.max-series', '--store.max-series', [CompletionResultType]::ParameterName, 'Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit')
            [CompletionResult]::new('--log.level', '--log.level', [CompletionResultType]::ParameterName, 'Only log messages at or above this level')
            [CompletionResult]::new('--log.format', '--log.format', [CompletionResultType]::ParameterName, 'Output format of log messages')
            [CompletionResult]::new('--persistence.import', '--persistence.import', [CompletionResultType]::ParameterName, 'The official Pushgateway''s persistence file, whose groups are taken over at start-up while pgw''s store has never taken a change (with --persistence.file, only once; the official file is only read)')
            [CompletionResult]::new('--web.config.file', '--web.config.file', [CompletionResultType]::ParameterName, 'The official web configuration file (TLS, basic auth users who get every role, headers, rate limit), in the exporter-toolkit format. Reloaded when it changes and on SIGHUP')
            [CompletionResult]::new('--auth.file', '--auth.file', [CompletionResultType]::ParameterName, 'pgw''s role file: credentials for the push, read and admin roles, push credentials optionally scoped to jobs (see the README). Reloaded when it changes and on SIGHUP')
            [CompletionResult]::new('--web.tls-cert-file', '--web.tls-cert-file', [CompletionResultType]::ParameterName, 'Serve HTTPS with this PEM certificate (chain) file; needs --web.tls-key-file. Reloaded when it changes and on SIGHUP')
            [CompletionResult]::new('--web.tls-key-file', '--web.tls-key-file', [CompletionResultType]::ParameterName, 'PEM private key for --web.tls-cert-file')
            [CompletionResult]::new('--web.read-header-timeout', '--web.read-header-timeout', [CompletionResultType]::ParameterName, 'Close a connection that takes longer than this to finish its TLS handshake or send a request''s headers, or that stays idle this long between requests')
            [CompletionResult]::new('--store.etcd.endpoints', '--store.etcd.endpoints', [CompletionResultType]::ParameterName, 'Keep the store in etcd (v3 API, comma-separated client URLs, http:// or https://) and run as one replica of a cluster: every replica serves the whole store, and a change is answered once etcd has committed it. Excludes --persistence.file')
            [CompletionResult]::new('--store.etcd.prefix', '--store.etcd.prefix', [CompletionResultType]::ParameterName, 'Key prefix of the store in etcd; clusters sharing one etcd use different prefixes')
            [CompletionResult]::new('--store.etcd.ca-file', '--store.etcd.ca-file', [CompletionResultType]::ParameterName, 'PEM file of the CA that signs etcd''s server certificates (default: the web PKI roots)')
            [CompletionResult]::new('--store.etcd.cert-file', '--store.etcd.cert-file', [CompletionResultType]::ParameterName, 'PEM client certificate for etcd''s --client-cert-auth; needs --store.etcd.key-file')
            [CompletionResult]::new('--store.etcd.key-file', '--store.etcd.key-file', [CompletionResultType]::ParameterName, 'PEM private key for --store.etcd.cert-file')
            [CompletionResult]::new('--store.etcd.username', '--store.etcd.username', [CompletionResultType]::ParameterName, 'etcd user to authenticate as; needs --store.etcd.password-file')
            [CompletionResult]::new('--store.etcd.password-file', '--store.etcd.password-file', [CompletionResultType]::ParameterName, 'File that holds the etcd user''s password (one line)')
            [CompletionResult]::new('--store.etcd.timeout', '--store.etcd.timeout', [CompletionResultType]::ParameterName, 'Time limit of one etcd request: a change that cannot be committed within it gets 503')
            [CompletionResult]::new('--store.etcd.max-staleness', '--store.etcd.max-staleness', [CompletionResultType]::ParameterName, '/-/ready fails when this replica''s view of etcd was last confirmed current longer ago than this (etcd unreachable); scrapes keep serving the view')
            [CompletionResult]::new('--store.etcd.compaction-interval', '--store.etcd.compaction-interval', [CompletionResultType]::ParameterName, 'How often a replica compacts etcd''s history, up to the revision it saw one interval before; 0 never')
            [CompletionResult]::new('--store.etcd.max-request-bytes', '--store.etcd.max-request-bytes', [CompletionResultType]::ParameterName, 'etcd''s --max-request-bytes: a group whose record is larger is refused with 413')
            [CompletionResult]::new('--store.etcd.max-txn-ops', '--store.etcd.max-txn-ops', [CompletionResultType]::ParameterName, 'etcd''s --max-txn-ops: how many groups one transaction may write')
            [CompletionResult]::new('--store.etcd.import', '--store.etcd.import', [CompletionResultType]::ParameterName, 'Fill an empty etcd prefix once from this pgw persistence file (what --persistence.file named); a prefix that holds groups is left as it is')
            [CompletionResult]::new('--web.enable-lifecycle', '--web.enable-lifecycle', [CompletionResultType]::ParameterName, 'Enable shutdown via HTTP: PUT or POST /-/quit')
            [CompletionResult]::new('--web.enable-admin-api', '--web.enable-admin-api', [CompletionResultType]::ParameterName, 'Enable the admin API: PUT /api/v1/admin/wipe deletes every group')
            [CompletionResult]::new('--push.disable-consistency-check', '--push.disable-consistency-check', [CompletionResultType]::ParameterName, 'Answer accepted pushes with 202 instead of 200, as the official server does with this flag. pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones')
            [CompletionResult]::new('--push.enable-utf8-names', '--push.enable-utf8-names', [CompletionResultType]::ParameterName, 'Allow UTF-8 characters in metric and label names: quoted names in text pushes, and label names in push paths (raw, percent-encoded or U__-escaped). Protobuf pushes may carry UTF-8 names either way, as with the official server')
            [CompletionResult]::new('--persistence.recover', '--persistence.recover', [CompletionResultType]::ParameterName, 'Start even if the persistence files are damaged: keep every valid record, move the damaged files aside (FILE.damaged-UNIXTIME) and report how many records were lost')
            [CompletionResult]::new('--web.systemd-socket', '--web.systemd-socket', [CompletionResultType]::ParameterName, 'Serve on the sockets systemd passes (socket activation, Linux); --web.listen-address is then ignored')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;push' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'The job label of the group to push to (needed unless a push URL names the group)')
            [CompletionResult]::new('--job', '--job', [CompletionResultType]::ParameterName, 'The job label of the group to push to (needed unless a push URL names the group)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Another grouping label of the group, NAME=VALUE (repeatable); any value works, even empty or with `/`')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Another grouping label of the group, NAME=VALUE (repeatable); any value works, even empty or with `/`')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'File of metrics in the text format (repeatable); `-` is stdin, which is read anyway when nothing else is given')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'File of metrics in the text format (repeatable); `-` is stdin, which is read anyway when nothing else is given')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Type of the metrics given as arguments')
            [CompletionResult]::new('--help-text', '--help-text', [CompletionResultType]::ParameterName, 'HELP text of the metrics given as arguments')
            [CompletionResult]::new('--aggregate-gauges', '--aggregate-gauges', [CompletionResultType]::ParameterName, 'With --aggregate: how the gateway combines pushed gauges with the group''s (header Pgw-Aggregate-Gauges); without it the gateway keeps the last pushed value')
            [CompletionResult]::new('--expire-after', '--expire-after', [CompletionResultType]::ParameterName, 'Ask the gateway to drop the group when no push came for this long (header Pgw-Expire-After; pgw serve only)')
            [CompletionResult]::new('--gzip', '--gzip', [CompletionResultType]::ParameterName, 'Compress the body with gzip: auto does so above 64 KiB')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for basic auth; prefer --password-file, since the environment can leak')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'File whose first line is the basic-auth password')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token; prefer --token-file, since the environment can leak')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is a bearer token')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request to a gateway')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, 'Replace the whole group with this push (HTTP PUT); the default without a wrapped command')
            [CompletionResult]::new('--add', '--add', [CompletionResultType]::ParameterName, 'Replace only the families in this push, keep the group''s others (HTTP POST); always so with a wrapped command')
            [CompletionResult]::new('--aggregate', '--aggregate', [CompletionResultType]::ParameterName, 'Ask the gateway to add this push into the group (HTTP POST with the header Pgw-Aggregate: sum): counters, histograms and summaries'' _sum and _count add up across pushes, gauges are combined as --aggregate-gauges says; untyped metrics and negative counters are refused. pgw serve only: the official Pushgateway ignores the header and merges the push as a plain POST (--add), and pgw cannot tell. With a wrapped command, it also pushes run and failure counters and a duration histogram')
            [CompletionResult]::new('--strip-timestamps', '--strip-timestamps', [CompletionResultType]::ParameterName, 'Remove sample timestamps instead of refusing the input (the gateway refuses timestamps)')
            [CompletionResult]::new('--utf8-names', '--utf8-names', [CompletionResultType]::ParameterName, 'Allow UTF-8 metric and label names: quoted in the input ("my.metric" 1) and in --label names, for a gateway started with --push.enable-utf8-names')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Check the input and print the body that would be sent, without sending it')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the gateways'' TLS certificates (the connection stays encrypted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;list' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'The group''s job')
            [CompletionResult]::new('--job', '--job', [CompletionResultType]::ParameterName, 'The group''s job')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Another grouping label of the group (repeatable); `NAME=` is an empty value')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Another grouping label of the group (repeatable); `NAME=` is an empty value')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)')
            [CompletionResult]::new('--stale', '--stale', [CompletionResultType]::ParameterName, 'Only groups whose last successful push is older than this, or that have none (`90s`, `1h`, `2d`)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Order of the groups (label values in natural order: web-2 before web-10)')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for basic auth; prefer --password-file, since the environment can leak')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'File whose first line is the basic-auth password')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token; prefer --token-file, since the environment can leak')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is a bearer token')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request to a gateway')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx')
            [CompletionResult]::new('--failed', '--failed', [CompletionResultType]::ParameterName, 'Only failed groups: the last push was refused, or the job `pgw push --` wrapped exited non-zero')
            [CompletionResult]::new('--metrics', '--metrics', [CompletionResultType]::ParameterName, 'Show the metrics of one group: the one named, or the only one matching the filters')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Reverse the order')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'Reverse the order')
            [CompletionResult]::new('--fail-if-none', '--fail-if-none', [CompletionResultType]::ParameterName, 'Exit with 8 when no group is listed')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the gateways'' TLS certificates (the connection stays encrypted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;delete' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'The group''s job')
            [CompletionResult]::new('--job', '--job', [CompletionResultType]::ParameterName, 'The group''s job')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Another grouping label of the group (repeatable); `NAME=` is an empty value')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Another grouping label of the group (repeatable); `NAME=` is an empty value')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`)')
            [CompletionResult]::new('--stale', '--stale', [CompletionResultType]::ParameterName, 'Only groups whose last successful push is older than this, or that have none (`90s`, `1h`, `2d`)')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for basic auth; prefer --password-file, since the environment can leak')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'File whose first line is the basic-auth password')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token; prefer --token-file, since the environment can leak')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is a bearer token')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request to a gateway')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Print what would be deleted, delete nothing')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be deleted, delete nothing')
            [CompletionResult]::new('--fail-if-none', '--fail-if-none', [CompletionResultType]::ParameterName, 'Exit with 8 when no group matched (for scripts that want to know)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask when the selection is every group on the gateway (required then when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask when the selection is every group on the gateway (required then when stdin is not a terminal)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the gateways'' TLS certificates (the connection stays encrypted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;wipe' {
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'The gateway''s URL, with its route prefix if it has one (default http://localhost:9091; an empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in PGW_GATEWAY) and send every request to each; push also takes a push URL (http://gw:9091/metrics/job/JOB/...), whose path names the group')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for basic auth; prefer --password-file, since the environment can leak')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'File whose first line is the basic-auth password')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token; prefer --token-file, since the environment can leak')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is a bearer token')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request to a gateway')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required when stdin is not a terminal)')
            [CompletionResult]::new('--per-group', '--per-group', [CompletionResultType]::ParameterName, 'Delete the groups one by one (for a gateway whose admin API is off)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the gateways'' TLS certificates (the connection stays encrypted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;relay' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Exporter to scrape, as URL or JOB=URL (repeatable; each goes to its own group). As in Prometheus'' targets, `host:9100` means http://host:9100/metrics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Job of the exporters given without JOB= in --from')
            [CompletionResult]::new('--job', '--job', [CompletionResultType]::ParameterName, 'Job of the exporters given without JOB= in --from')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The instance label of the groups (default: this host''s name)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'A further grouping label (repeatable)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A further grouping label (repeatable)')
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Keep running, scraping and pushing once per interval (with a little jitter). A failed push is then retried until the next cycle is due, instead of --retries times')
            [CompletionResult]::new('--scrape-timeout', '--scrape-timeout', [CompletionResultType]::ParameterName, 'Time limit of a scrape (default: 10s, and at most half the interval)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest exporter answer accepted, in bytes after decompression; a larger one is a failed scrape')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Relay only the metric families whose name matches this regex (repeatable). Anchored as in Prometheus: it must match the whole name, so a prefix is `node_load.*`; a warning says when the filters leave no family')
            [CompletionResult]::new('--drop', '--drop', [CompletionResultType]::ParameterName, 'Leave out the metric families whose name matches this regex (whole name, anchored; repeatable)')
            [CompletionResult]::new('--expire-after', '--expire-after', [CompletionResultType]::ParameterName, 'Ask `pgw serve` to delete a group not pushed for this long (header Pgw-Expire-After; the official server ignores it). Default with --every: 3 intervals; 0s: never')
            [CompletionResult]::new('--remote-write', '--remote-write', [CompletionResultType]::ParameterName, 'Also (or instead) send the samples with the Prometheus remote-write protocol to this URL (repeatable)')
            [CompletionResult]::new('--log.level', '--log.level', [CompletionResultType]::ParameterName, 'Only log messages at or above this level')
            [CompletionResult]::new('--log.format', '--log.format', [CompletionResultType]::ParameterName, 'Output format of log messages')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'A gateway''s URL (repeatable, or commas in PGW_GATEWAY; default http://localhost:9091 unless --remote-write is given; an empty PGW_GATEWAY counts as unset)')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'A gateway''s URL (repeatable, or commas in PGW_GATEWAY; default http://localhost:9091 unless --remote-write is given; an empty PGW_GATEWAY counts as unset)')
            [CompletionResult]::new('--fanout', '--fanout', [CompletionResultType]::ParameterName, 'With several gateways: give every push to all of them, or each group to one chosen by hash')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for basic auth; prefer --password-file, since the environment can leak')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'File whose first line is the basic-auth password')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token; prefer --token-file, since the environment can leak')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is a bearer token')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request to a gateway')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the gateways'' TLS certificates (the connection stays encrypted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run a Pushgateway server, a drop-in replacement for the official one')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push metrics to a gateway; replaces the group (PUT) unless --add (POST, like curl''s)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List a gateway''s groups, or the metrics of one group')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete one group, or every group matching a selector and/or not pushed for a while')
            [CompletionResult]::new('wipe', 'wipe', [CompletionResultType]::ParameterValue, 'Delete every group of a gateway')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'pgw;help;serve' {
            break
        }
        'pgw;help;push' {
            break
        }
        'pgw;help;list' {
            break
        }
        'pgw;help;delete' {
            break
        }
        'pgw;help;wipe' {
            break
        }
        'pgw;help;relay' {
            break
        }
        'pgw;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
