package main

import (
	"fmt"
	"strings"
	"time"
)

// result is everything one run measured.
type result struct {
	date, machine                      string
	loadBefore, loadBefore2, loadAfter string // /proc/loadavg: other work disturbs the figures
	rucheVersion                       string
	members, tickets, writers          int
	sessions, requests, staffSessions  int
	ready                              time.Duration // from start to the panel's first answer
	idle, withTickets, peak, after     memory
	opened                             opened
	alone                              []loadResult // one session, one page each
	load                               loadResult
}

func (m memory) String() string {
	return fmt.Sprintf("%d process(es), RSS %s, PSS %s, VmHWM %s", m.processes, mib(m.rssKiB), mib(m.pssKiB), mib(m.hwmKiB))
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func kb(n int) string { return fmt.Sprintf("%.0f kB", float64(n)/1000) }

// report is the Markdown section "panel" of docs/benchmarks.md.
func report(r *result, command string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("<!-- bench:panel -->\n")
	p("## Panel: latency under 50 sessions, memory with 1,000 tickets / Le panneau : latence sous 50 sessions, mémoire avec 1 000 tickets\n\n")
	p("Measured %s on %s, load average %s before, %s before the load, %s after, with:\n\n    %s\n\n",
		r.date, r.machine, r.loadBefore, r.loadBefore2, r.loadAfter, command)
	p("`ruche up --root TMP --http 127.0.0.1:PORT` (%s) on a pack with %d panel users (1 admin, 1 technician, %d members), `tls: \"off\"`, no wiki, no mail; passwords set beforehand with `ruche user passwd`; loopback only, client and server on the same machine. ", r.rucheVersion, r.members+2, r.members)
	p("The panel first answered %s after `ruche up` started.\n\n", ms(r.ready))

	n := r.opened.comments + r.tickets + r.opened.changes
	p("**Tickets**: %d opened through the JSON API as their members would (`POST /api/session`, then `POST /api/tickets`), each answered by the technician and by its member (`POST /api/tickets/{id}/comments`, %d comments), one in three moved to `in_progress` (`PATCH`, %d); %d clients in parallel: %d writes in %.1f s, **%.0f writes/s** (each one SQLite transaction, `synchronous=FULL`).\n\n",
		r.tickets, r.opened.comments, r.opened.changes, r.writers, n, r.opened.took.Seconds(), float64(n)/r.opened.took.Seconds())

	p("**Memory of `ruche up`** (the sum of `Rss` and `Pss` in `/proc/PID/smaps_rollup` over `ruche up` and the processes under it; VmHWM: its peak RSS since it started):\n\n")
	p("| moment | processes | RSS | PSS | VmHWM |\n|---|---|---|---|---|\n")
	row := func(label string, m memory) {
		p("| %s | %d | %s | %s | %s |\n", label, m.processes, mib(m.rssKiB), mib(m.pssKiB), mib(m.hwmKiB))
	}
	row("idle, 5 s after the panel answered", r.idle)
	row(fmt.Sprintf("5 s after %d tickets", r.tickets), r.withTickets)
	row(fmt.Sprintf("during the load of %d sessions (the largest RSS of samples every 100 ms)", r.sessions), r.peak)
	row("right after the load", r.after)
	// VmHWM comes from /proc/PID/status, whose counters Linux updates
	// lazily: it can read a few hundred kB below a RSS just measured.
	p("\nVmHWM is read from `/proc/PID/status`, whose memory counters the kernel updates lazily: it may show a little less than the largest RSS read from `smaps_rollup`.\n\n")

	total, failed := r.load.total()
	p("**Latency**: %d sessions at once, each logged in with its own cookie and keep-alive connection, %d requests each, all released together: %d staff sessions (admin and technician in turn) alternate the dashboard and the ticket list (its first page: the 50 newest of %d tickets), %d member sessions ask for their ticket list (their own tickets, about %d each). ",
		r.sessions, r.requests, r.staffSessions, r.tickets, r.sessions-r.staffSessions, r.tickets/max(1, r.members))
	p("%d requests in %.1f s: **%.0f requests/s** overall, %d failed. The same pages from one session alone (%d requests each, after 4 not counted) for reference. Latency is from the request sent to the answer's last byte.\n\n",
		total, r.load.took.Seconds(), float64(total)/r.load.took.Seconds(), failed, r.requests)
	p("| page | answer | sessions | requests | p50 | p99 | max | requests/s |\n|---|---|---|---|---|---|---|---|\n")
	for i, ps := range r.load.pages {
		if i < len(r.alone) {
			a := r.alone[i]
			ap := a.pages[0]
			p("| %s | %s | 1 | %d | %s | %s | %s | %.0f |\n", ps.page.name, kb(ap.bytes), len(ap.latencies), ms(ap.percentile(0.5)), ms(ap.percentile(0.99)), ms(ap.max()), float64(len(ap.latencies))/a.took.Seconds())
		}
		// Per page under the mixed load: its share of the run's time.
		p("| %s | %s | %d (mixed) | %d | **%s** | **%s** | %s | %.0f |\n", ps.page.name, kb(ps.bytes), r.sessions, len(ps.latencies),
			ms(ps.percentile(0.5)), ms(ps.percentile(0.99)), ms(ps.max()), float64(len(ps.latencies))/r.load.took.Seconds())
	}
	p("\nUnder the mixed load, a page's requests/s is its count over the whole run's time: the pages share the server. The dashboard reads the disks, the backups' state, the revisions, the open tickets and 30 days of the history's samples; the ticket list shows 50 tickets a page (`?page=N`), so its cost no longer grows with the box's age; counting the tickets for the pager is one `count(*)` in SQLite.\n")
	p("<!-- /bench:panel -->\n")
	return b.String()
}
