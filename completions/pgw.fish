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
complete -c pgw -n "__fish_pgw_needs_command" -f -a "relay" -d 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "generate" -d 'Write the man pages (man/) and shell completions (completions/) from these definitions'
complete -c pgw -n "__fish_pgw_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.listen-address -l listen -d 'Address to listen on for the web interface, API and telemetry (repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.telemetry-path -d 'Path under which to expose the server\'s metrics (the push API stays at /metrics/job/...)' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.external-url -d 'The URL under which the gateway is reached from outside; its path is the default route prefix' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.route-prefix -d 'Prefix for every route (defaults to the path of --web.external-url)' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l persistence.file -d 'File in which to keep the store across restarts; empty means memory only' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l persistence.interval -d 'How often at most the store is written to the persistence file after a change' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-body-size -d 'Largest push body accepted after decompression, in bytes' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.read-timeout -d 'Time limit for reading a push body; a slower client gets 408' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l expire-after -d 'Delete a group not pushed for this long (off by default, as upstream keeps groups forever). A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-series -d 'Most series in one push (413 beyond); 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-label-name-length -d 'Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.max-label-value-length -d 'Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.max-groups -d 'Most groups in the store; a push that would add one more gets 429; 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l store.max-series -d 'Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit' -r
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l log.level -d 'Only log messages at or above this level' -r -f -a "debug\t''
info\t''
warn\t''
error\t''"
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l log.format -d 'Output format of log messages' -r -f -a "logfmt\t''
json\t''"
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.enable-lifecycle -d 'Enable shutdown via HTTP: PUT or POST /-/quit'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l web.enable-admin-api -d 'Enable the admin API: PUT /api/v1/admin/wipe deletes every group'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -l push.disable-consistency-check -d 'Answer accepted pushes with 202 instead of 200, as the official server does with this flag. pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -s h -l help -d 'Print help'
complete -c pgw -n "__fish_pgw_using_subcommand serve" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l from -d 'Exporter to scrape, as URL or JOB=URL (repeatable; each goes to its own group)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s j -l job -d 'Job of the exporters given without JOB= in --from' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l instance -d 'The instance label of the groups (default: this host\'s name)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s l -l label -d 'A further grouping label (repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l every -d 'Keep running, scraping and pushing once per interval (with a little jitter)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l scrape-timeout -d 'Time limit of a scrape (default: 10s, and at most half the interval)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l max-size -d 'Largest exporter answer accepted, in bytes after decompression; a larger one is a failed scrape' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l keep -d 'Relay only the metric families whose name matches this regex (whole name; repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l drop -d 'Leave out the metric families whose name matches this regex (whole name; repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l expire-after -d 'Ask `pgw serve` to delete a group not pushed for this long (header Pgw-Expire-After; the official server ignores it). Default with --every: 3 intervals; 0s: never' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l remote-write -d 'Also (or instead) send the samples with the Prometheus remote-write protocol to this URL (repeatable)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l log.level -d 'Only log messages at or above this level' -r -f -a "debug\t''
info\t''
warn\t''
error\t''"
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l log.format -d 'Output format of log messages' -r -f -a "logfmt\t''
json\t''"
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s g -l gateway -d 'A gateway\'s URL (repeatable; default http://localhost:9091 unless --remote-write is given)' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l fanout -d 'With several gateways: give every push to all of them, or each group to one chosen by hash' -r -f -a "all\t'Every gateway gets every push'
hash\t'Each group goes to one gateway, chosen by a consistent hash of its grouping key'"
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l ca-cert -d 'PEM file of certificate authorities to trust for https gateways (besides the usual ones)' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s u -l user -d 'User name for basic auth; the password comes from PGW_PASSWORD or --password-file' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l password -d 'Password for basic auth; prefer --password-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l password-file -d 'File whose first line is the basic-auth password' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l token -d 'Bearer token; prefer --token-file, since the environment can leak' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l token-file -d 'File whose first line is a bearer token' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l timeout -d 'Time limit for each request to a gateway' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l retries -d 'Retries (with backoff) of a push after a connection error, a timeout or a 5xx answer. With --every a push is retried until the next cycle is due instead' -r
complete -c pgw -n "__fish_pgw_using_subcommand relay" -l insecure -d 'Do not check the gateways\' TLS certificates (the connection stays encrypted)'
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pgw -n "__fish_pgw_using_subcommand relay" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand generate" -l out -d 'Directory under which man/ and completions/ are written' -r -F
complete -c pgw -n "__fish_pgw_using_subcommand generate" -s h -l help -d 'Print help'
complete -c pgw -n "__fish_pgw_using_subcommand generate" -s V -l version -d 'Print version'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve relay generate help" -f -a "serve" -d 'Run a Pushgateway server, a drop-in replacement for the official one'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve relay generate help" -f -a "relay" -d 'Scrape exporters and push what they expose to gateways (or remote write), once or every interval'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve relay generate help" -f -a "generate" -d 'Write the man pages (man/) and shell completions (completions/) from these definitions'
complete -c pgw -n "__fish_pgw_using_subcommand help; and not __fish_seen_subcommand_from serve relay generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
