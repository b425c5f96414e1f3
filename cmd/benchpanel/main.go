// Command benchpanel measures the panel under its users: the latency of
// the dashboard and of the ticket list with 50 sessions at once, and the
// memory of `ruche up` with 1,000 tickets.
//
// It builds nothing: -ruche names the binary (make bench passes bin/ruche).
// Under a temporary root it writes a pack with panel users (1 admin, 1
// technician, -members members; no wiki, no mail: the figures are the
// panel's), runs `ruche apply` and `ruche user passwd LOGIN` for every
// user (the password on standard input, as an admin would), starts
// `ruche up --root TMP --http 127.0.0.1:A --smtp 127.0.0.1:B`, waits for
// /healthz, and then:
//
//   - memory of `ruche up` (RSS and PSS from /proc/PID/smaps_rollup, summed
//     over it and any process under it) when idle;
//   - -tickets tickets through the JSON API, as their members would: each
//     member logs in (POST /api/session) and opens its share (POST
//     /api/tickets), answers each once (POST /api/tickets/{id}/comments);
//     the technician answers each and moves one in three to in_progress
//     (PATCH). -writers clients in parallel; the rate is reported;
//   - memory again, after the tickets;
//   - for reference, one session alone: -requests requests of the
//     dashboard (the technician), of the ticket list as the technician
//     (its first page of 50) and as a member (their own);
//   - -sessions sessions at once, each its own login, cookie and keep-alive
//     connection, a fifth staff (admin and technician, alternating the
//     dashboard and the ticket list), the rest members (their ticket
//     list), -requests requests each, all started together; p50, p99 and
//     max latency per page and role, requests/s, failures; memory sampled
//     every 100 ms meanwhile (the largest RSS) and right after.
//
// The figures go into the section "panel" of docs/benchmarks.md (between
// <!-- bench:panel --> markers, cmd/internal/benchmd). Only loopback
// addresses are used; every loop is bounded in count and time; ruche up is
// stopped on every way out, and dies with this program if it is killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchmd"
)

type options struct {
	ruche, out, command, work string
	keep                      bool
	members, tickets          int
	sessions, requests        int
	writers                   int
	timeout                   time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.ruche, "ruche", "", "the ruche binary to run (required; make bench passes bin/ruche)")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "Markdown file whose panel section is rewritten (empty: print only)")
	flag.StringVar(&o.command, "command", "", "the command line to print in the report (default: this one)")
	flag.StringVar(&o.work, "work", "", "work folder (default: a new temporary folder, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder")
	flag.IntVar(&o.members, "members", 50, "members in the pack (besides 1 admin and 1 technician)")
	flag.IntVar(&o.tickets, "tickets", 1000, "tickets opened before the load")
	flag.IntVar(&o.sessions, "sessions", 50, "sessions at once during the load")
	flag.IntVar(&o.requests, "requests", 40, "requests per session")
	flag.IntVar(&o.writers, "writers", 4, "clients in parallel while the tickets are opened")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	if flag.NArg() > 0 || o.ruche == "" || o.members < 1 || o.tickets < 0 || o.sessions < 2 || o.requests < 1 || o.writers < 1 || o.members > 999 {
		fmt.Fprintln(os.Stderr, "usage: benchpanel -ruche PATH [-out docs/benchmarks.md] [-members 50] [-tickets 1000] [-sessions 50] [-requests 40]")
		return 2
	}
	if o.command == "" {
		o.command = "go run ./cmd/benchpanel " + strings.Join(os.Args[1:], " ")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	res, err := bench(ctx, &o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchpanel:", err)
		return 1
	}
	section := report(res, o.command)
	fmt.Print(section)
	if o.out != "" {
		if err := benchmd.ReplaceSection(o.out, "panel", section); err != nil {
			fmt.Fprintln(os.Stderr, "benchpanel:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "benchpanel: section panel written to %s\n", o.out)
	}
	return 0
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchpanel: "+format+"\n", a...)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
