
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
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write the man pages (man/) and shell completions (completions/) from these definitions')
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
            [CompletionResult]::new('--persistence.interval', '--persistence.interval', [CompletionResultType]::ParameterName, 'How often at most the store is written to the persistence file after a change')
            [CompletionResult]::new('--push.max-body-size', '--push.max-body-size', [CompletionResultType]::ParameterName, 'Largest push body accepted after decompression, in bytes')
            [CompletionResult]::new('--web.read-timeout', '--web.read-timeout', [CompletionResultType]::ParameterName, 'Time limit for reading a push body; a slower client gets 408')
            [CompletionResult]::new('--expire-after', '--expire-after', [CompletionResultType]::ParameterName, 'Delete a group not pushed for this long (off by default, as upstream keeps groups forever). A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`')
            [CompletionResult]::new('--push.max-series', '--push.max-series', [CompletionResultType]::ParameterName, 'Most series in one push (413 beyond); 0 for no limit')
            [CompletionResult]::new('--push.max-label-name-length', '--push.max-label-name-length', [CompletionResultType]::ParameterName, 'Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit')
            [CompletionResult]::new('--push.max-label-value-length', '--push.max-label-value-length', [CompletionResultType]::ParameterName, 'Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit')
            [CompletionResult]::new('--store.max-groups', '--store.max-groups', [CompletionResultType]::ParameterName, 'Most groups in the store; a push that would add one more gets 429; 0 for no limit')
            [CompletionResult]::new('--store.max-series', '--store.max-series', [CompletionResultType]::ParameterName, 'Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit')
            [CompletionResult]::new('--log.level', '--log.level', [CompletionResultType]::ParameterName, 'Only log messages at or above this level')
            [CompletionResult]::new('--log.format', '--log.format', [CompletionResultType]::ParameterName, 'Output format of log messages')
            [CompletionResult]::new('--web.enable-lifecycle', '--web.enable-lifecycle', [CompletionResultType]::ParameterName, 'Enable shutdown via HTTP: PUT or POST /-/quit')
            [CompletionResult]::new('--web.enable-admin-api', '--web.enable-admin-api', [CompletionResultType]::ParameterName, 'Enable the admin API: PUT /api/v1/admin/wipe deletes every group')
            [CompletionResult]::new('--push.disable-consistency-check', '--push.disable-consistency-check', [CompletionResultType]::ParameterName, 'Answer accepted pushes with 202 instead of 200, as the official server does with this flag. pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;relay' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Exporter to scrape, as URL or JOB=URL (repeatable; each goes to its own group)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Job of the exporters given without JOB= in --from')
            [CompletionResult]::new('--job', '--job', [CompletionResultType]::ParameterName, 'Job of the exporters given without JOB= in --from')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The instance label of the groups (default: this host''s name)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'A further grouping label (repeatable)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A further grouping label (repeatable)')
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Keep running, scraping and pushing once per interval (with a little jitter)')
            [CompletionResult]::new('--scrape-timeout', '--scrape-timeout', [CompletionResultType]::ParameterName, 'Time limit of a scrape (default: 10s, and at most half the interval)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest exporter answer accepted, in bytes after decompression; a larger one is a failed scrape')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Relay only the metric families whose name matches this regex (whole name; repeatable)')
            [CompletionResult]::new('--drop', '--drop', [CompletionResultType]::ParameterName, 'Leave out the metric families whose name matches this regex (whole name; repeatable)')
            [CompletionResult]::new('--expire-after', '--expire-after', [CompletionResultType]::ParameterName, 'Ask `pgw serve` to delete a group not pushed for this long (header Pgw-Expire-After; the official server ignores it). Default with --every: 3 intervals; 0s: never')
            [CompletionResult]::new('--remote-write', '--remote-write', [CompletionResultType]::ParameterName, 'Also (or instead) send the samples with the Prometheus remote-write protocol to this URL (repeatable)')
            [CompletionResult]::new('--log.level', '--log.level', [CompletionResultType]::ParameterName, 'Only log messages at or above this level')
            [CompletionResult]::new('--log.format', '--log.format', [CompletionResultType]::ParameterName, 'Output format of log messages')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'A gateway''s URL (repeatable; default http://localhost:9091 unless --remote-write is given)')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'A gateway''s URL (repeatable; default http://localhost:9091 unless --remote-write is given)')
            [CompletionResult]::new('--fanout', '--fanout', [CompletionResultType]::ParameterName, 'With several gateways: give every push to all of them, or each group to one chosen by hash')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for basic auth; prefer --password-file, since the environment can leak')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'File whose first line is the basic-auth password')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token; prefer --token-file, since the environment can leak')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is a bearer token')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request to a gateway')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries (with backoff) of a push after a connection error, a timeout or a 5xx answer. With --every a push is retried until the next cycle is due instead')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the gateways'' TLS certificates (the connection stays encrypted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;generate' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory under which man/ and completions/ are written')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pgw;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run a Pushgateway server, a drop-in replacement for the official one')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write the man pages (man/) and shell completions (completions/) from these definitions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'pgw;help;serve' {
            break
        }
        'pgw;help;relay' {
            break
        }
        'pgw;help;generate' {
            break
        }
        'pgw;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
