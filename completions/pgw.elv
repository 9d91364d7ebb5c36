
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
            cand generate 'Write the man pages (man/) and shell completions (completions/) from these definitions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pgw;serve'= {
            cand --web.listen-address 'Address to listen on for the web interface, API and telemetry (repeatable)'
            cand --listen 'Address to listen on for the web interface, API and telemetry (repeatable)'
            cand --web.telemetry-path 'Path under which to expose the server''s metrics (the push API stays at /metrics/job/...)'
            cand --web.external-url 'The URL under which the gateway is reached from outside; its path is the default route prefix'
            cand --web.route-prefix 'Prefix for every route (defaults to the path of --web.external-url)'
            cand --persistence.file 'File in which to keep the store across restarts; empty means memory only'
            cand --persistence.interval 'How often at most the store is written to the persistence file after a change'
            cand --push.max-body-size 'Largest push body accepted after decompression, in bytes'
            cand --web.read-timeout 'Time limit for reading a push body; a slower client gets 408'
            cand --expire-after 'Delete a group not pushed for this long (off by default, as upstream keeps groups forever). A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`'
            cand --push.max-series 'Most series in one push (413 beyond); 0 for no limit'
            cand --push.max-label-name-length 'Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit'
            cand --push.max-label-value-length 'Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit'
            cand --store.max-groups 'Most groups in the store; a push that would add one more gets 429; 0 for no limit'
            cand --store.max-series 'Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit'
            cand --log.level 'Only log messages at or above this level'
            cand --log.format 'Output format of log messages'
            cand --web.enable-lifecycle 'Enable shutdown via HTTP: PUT or POST /-/quit'
            cand --web.enable-admin-api 'Enable the admin API: PUT /api/v1/admin/wipe deletes every group'
            cand --push.disable-consistency-check 'Answer accepted pushes with 202 instead of 200, as the official server does with this flag. pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;generate'= {
            cand --out 'Directory under which man/ and completions/ are written'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pgw;help'= {
            cand serve 'Run a Pushgateway server, a drop-in replacement for the official one'
            cand generate 'Write the man pages (man/) and shell completions (completions/) from these definitions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pgw;help;serve'= {
        }
        &'pgw;help;generate'= {
        }
        &'pgw;help;help'= {
        }
    ]
    $completions[$command]
}
