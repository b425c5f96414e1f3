package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchmd"
	"github.com/ruche-box/ruche/services/supervisor/execsup"
)

// result is everything one run measured.
type result struct {
	date, machine                  string
	loadBefore, loadAfter          string // /proc/loadavg: other work disturbs the figures
	rucheVersion, dokuwiki, phpFPM string
	upCommand                      string
	views, clients                 int
	idleTimeout, killInterval      time.Duration
	ready                          time.Duration // from start to the wiki's first 200
	idle, during, after, stopped   memory
	stoppedAfter                   time.Duration // from the end of the load to no worker
	load                           loadResult
	recoveries                     []time.Duration
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// report is the Markdown section "wiki" of docs/benchmarks.md.
func report(r *result, command string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("<!-- bench:wiki -->\n")
	p("## Wiki: php-fpm (DokuWiki) / Le wiki : php-fpm (DokuWiki)\n\n")
	p("Measured %s on %s, load average %s before and %s after, with:\n\n    %s\n\n", r.date, r.machine, r.loadBefore, r.loadAfter, command)
	p("`%s` (%s) on a pack with the wiki on and `tls: \"off\"`, loopback ports only; DokuWiki %s and php-fpm %s from Debian, ", r.upCommand, r.rucheVersion, r.dokuwiki, r.phpFPM)
	p("one `ondemand` pool of at most 3 workers, stopped after %v without requests (services/wiki). ", r.idleTimeout)
	p("PSS: the sum of `Pss` in `/proc/PID/smaps_rollup` over the php-fpm processes under `ruche up` (master and workers); ")
	p("PSS divides each shared page among the processes that map it, so the sum is what they cost together. The wiki first answered 200 %s after `ruche up` started.\n\n", ms(r.ready))
	p("| moment | php-fpm processes | workers | PSS | RSS (sum) |\n|---|---|---|---|---|\n")
	others := 0
	row := func(label string, m memory) {
		p("| %s | %d | %d | %s | %s |\n", label, m.processes, m.workers, mib(m.pssKiB), mib(m.rssKiB))
		others = max(others, m.others)
	}
	row("idle: ready, no worker", r.idle)
	row(fmt.Sprintf("during %d views of the start page, %d clients in parallel (the largest of samples every 100 ms)", r.views, r.clients), r.during)
	row("right after the load", r.after)
	row(fmt.Sprintf("%.0f s after the load: workers stopped by the idle timeout", r.stoppedAfter.Seconds()), r.stopped)
	p("\nRSS counts the pages the processes share once per process: it overstates what they cost together, but does not move with what else runs. ")
	if others > 0 {
		p("Other php-fpm processes ran on the machine meanwhile (up to %d: another box, a test): they share pages with these, which lowers these processes' PSS.\n", others)
	} else {
		p("No other php-fpm process ran on the machine meanwhile.\n")
	}
	p("\nLoad: %d views of `/` (Host `%s`, DokuWiki's start page through Caddy's `php_fastcgi` routes), %d clients with a keep-alive connection each: ", r.load.views, wikiHost, r.clients)
	p("**%.0f views/s**, p50 %s, p99 %s, %d failed.\n\n", r.load.rate(), ms(r.load.percentile(0.5)), ms(r.load.percentile(0.99)), r.load.failed)
	if len(r.recoveries) > 0 {
		var f []float64
		var each []string
		maxD := time.Duration(0)
		for _, d := range r.recoveries {
			f = append(f, float64(d))
			each = append(each, ms(d))
			maxD = max(maxD, d)
		}
		p("php-fpm's master killed with SIGKILL %d times, %v apart (`ruche up`'s supervisor starts it again): the wiki answered 200 again, from a new master, after **%s** (median), %s at most (each: %s). ",
			len(r.recoveries), r.killInterval, ms(time.Duration(benchmd.Median(f))), ms(maxD), strings.Join(each, ", "))
		p("The kills are further apart than the %v after which the supervisor forgets a crash, so each is a first crash: it waits %v before the restart. Crashes closer together wait twice as long each time, up to %v.\n",
			execsup.DefaultBackoffReset, execsup.DefaultMinBackoff, execsup.DefaultMaxBackoff)
	}
	p("<!-- /bench:wiki -->\n")
	return b.String()
}
