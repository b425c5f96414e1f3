// Command benchwiki measures the box's wiki: the memory of the php-fpm that
// runs DokuWiki, idle, under a bounded load of page views and once its
// workers have stopped, and how long the wiki is gone when php-fpm's
// master is killed.
//
// It builds nothing: -ruche names the binary (make bench passes
// bin/ruche). It writes a pack with the wiki on and TLS off, starts
// `ruche up --root TMP --http 127.0.0.1:A --smtp 127.0.0.1:B` on it, waits
// for the wiki (Host wiki.localhost) to answer 200, and then:
//
//   - idle: waits for the ondemand pool to have no worker, reads the PSS
//     of php-fpm's processes (the sum of Pss in /proc/PID/smaps_rollup over
//     the php-fpm processes under ruche up: master and workers);
//   - load: -views views of the start page from -clients clients in
//     parallel (keep-alive), sampling the PSS every 100 ms, and views/s;
//   - right after the load, and again once the pool's idle timeout has
//     stopped the workers;
//   - -kills times, -kill-interval apart: SIGKILL to php-fpm's master, then
//     the time until the wiki answers 200 again from a new master (the
//     supervisor restarts it). The interval is longer than the time after
//     which the supervisor forgets a crash: each kill measures a first
//     crash, not the backoff of repeated ones.
//
// The figures go into the section "wiki" of docs/benchmarks.md (between
// <!-- bench:wiki --> markers, cmd/internal/benchmd). Only loopback
// addresses are used; every loop is bounded in count and time; ruche up
// (and with it php-fpm) is stopped on every way out, and dies with this
// program if it is killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchenv"

	"github.com/ruche-box/ruche/cmd/internal/benchmd"
	"github.com/ruche-box/ruche/services/supervisor/execsup"
)

type options struct {
	ruche, out, command, work string
	keep                      bool
	views, clients, kills     int
	idleTimeout, killInterval time.Duration
	timeout                   time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.ruche, "ruche", "", "the ruche binary to run (required; make bench passes bin/ruche)")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "Markdown file whose wiki section is rewritten (empty: print only)")
	flag.StringVar(&o.command, "command", "", "the command line to print in the report (default: this one)")
	flag.StringVar(&o.work, "work", "", "work folder (default: a new temporary folder, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder")
	flag.IntVar(&o.views, "views", 300, "page views of the load")
	flag.IntVar(&o.clients, "clients", 3, "clients in parallel during the load")
	flag.IntVar(&o.kills, "kills", 5, "times php-fpm's master is killed")
	flag.DurationVar(&o.idleTimeout, "idle-timeout", 30*time.Second, "the pool's pm.process_idle_timeout, as services/wiki renders it")
	flag.DurationVar(&o.killInterval, "kill-interval", execsup.DefaultBackoffReset+2*time.Second,
		"time between two kills (longer than the supervisor's backoff reset, so that each kill is a first crash)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	if flag.NArg() > 0 || o.ruche == "" || o.views < 1 || o.clients < 1 || o.kills < 0 {
		fmt.Fprintln(os.Stderr, "usage: benchwiki -ruche PATH [-out docs/benchmarks.md] [-views 300] [-clients 3] [-kills 5]")
		return 2
	}
	if o.command == "" {
		o.command = "go run ./cmd/benchwiki " + strings.Join(os.Args[1:], " ")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	res, err := bench(ctx, &o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchwiki:", err)
		return 1
	}
	section := report(res, o.command)
	fmt.Print(section)
	if o.out != "" {
		if err := benchmd.ReplaceSection(o.out, "wiki", section); err != nil {
			fmt.Fprintln(os.Stderr, "benchwiki:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "benchwiki: section wiki written to %s\n", o.out)
	}
	return 0
}

// pack is the measured box: the wiki on, public reading, TLS off (the
// figures are php-fpm's, not the TLS handshakes').
const pack = `apiVersion: ruche/v1
kind: Pack
association: {name: "Banc d'essai", slug: banc, locale: fr, contact: contact@banc.example}
box: {hostname: banc, tls: "off"}
wiki: {enabled: true, title: "Wiki du banc d'essai", public_read: true, editors: [admin, member]}
panel:
  users:
    - {login: alice, name: Alice, role: admin, email: alice@example.org}
`

const wikiHost = "wiki.localhost"

func bench(ctx context.Context, o *options) (res *result, err error) {
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "benchwiki-"); err != nil {
			return nil, err
		}
		if !o.keep {
			defer os.RemoveAll(o.work)
		}
	}
	if o.work, err = filepath.Abs(o.work); err != nil {
		return nil, err
	}
	if o.ruche, err = filepath.Abs(o.ruche); err != nil {
		return nil, err
	}
	root := filepath.Join(o.work, "root")
	home := filepath.Join(o.work, "home")
	for _, d := range []string{root, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// php-fpm's workers run as www-data: they must traverse the folders
	// down to the root (MkdirTemp makes them 0700).
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	packFile := filepath.Join(o.work, "pack.yaml")
	if err := os.WriteFile(packFile, []byte(pack), 0o644); err != nil {
		return nil, err
	}
	httpAddr, err := benchenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	smtpAddr, err := benchenv.FreeAddr()
	if err != nil {
		return nil, err
	}

	res = &result{
		machine: benchenv.Machine(), loadBefore: benchenv.Loadavg(), views: o.views, clients: o.clients,
		idleTimeout: o.idleTimeout, killInterval: o.killInterval, rucheVersion: benchenv.FirstLine(ctx, o.ruche, "version"),
		dokuwiki: debVersion(ctx, "dokuwiki"), phpFPM: debVersion(ctx, "php8.2-fpm"),
		upCommand: "ruche up --root TMP --http 127.0.0.1:PORT --smtp 127.0.0.1:PORT2 pack.yaml",
		date:      time.Now().UTC().Format("2006-01-02"),
	}
	logf("ruche up --root %s --http %s --smtp %s", root, httpAddr, smtpAddr)
	up, err := startUp(o.ruche, root, home, httpAddr, smtpAddr, packFile, filepath.Join(o.work, "ruche-up.log"))
	if err != nil {
		return nil, err
	}
	defer up.stop(30 * time.Second)
	started := time.Now()
	if err := up.waitWiki(ctx, 90*time.Second, 0); err != nil {
		return nil, err
	}
	res.ready = time.Since(started)
	logf("the wiki answered 200 after %v", res.ready.Round(time.Millisecond))

	// Idle: the request that found the wiki ready started a worker; the
	// pool stops it after its idle timeout.
	if res.idle, err = up.waitNoWorker(ctx, o.idleTimeout+20*time.Second); err != nil {
		return nil, err
	}
	logf("idle: %s", res.idle)

	if res.during, res.load, err = up.load(ctx, o.views, o.clients); err != nil {
		return nil, err
	}
	if res.after, err = up.pss(); err != nil {
		return nil, err
	}
	logf("load: %d views in %v (%.0f/s), %d failed; peak %s; right after %s",
		res.load.views, res.load.took.Round(time.Millisecond), res.load.rate(), res.load.failed, res.during, res.after)
	loadEnd := time.Now()
	if res.stopped, err = up.waitNoWorker(ctx, o.idleTimeout+20*time.Second); err != nil {
		return nil, err
	}
	res.stoppedAfter = time.Since(loadEnd)
	logf("workers stopped %v after the load: %s", res.stoppedAfter.Round(time.Second), res.stopped)

	for i := 0; i < o.kills; i++ {
		d, err := up.killMaster(ctx, 30*time.Second)
		if err != nil {
			return nil, fmt.Errorf("kill %d: %w", i+1, err)
		}
		res.recoveries = append(res.recoveries, d)
		logf("kill %d: the wiki answered again after %v", i+1, d.Round(time.Millisecond))
		if i+1 < o.kills {
			if err := sleep(ctx, o.killInterval); err != nil {
				return nil, err
			}
		}
	}
	if up.exited() {
		return nil, fmt.Errorf("ruche up exited during the measurement; its log:\n%s", benchenv.Tail(up.logPath, 20))
	}
	res.loadAfter = benchenv.Loadavg()
	return res, nil
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchwiki: "+format+"\n", a...)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
