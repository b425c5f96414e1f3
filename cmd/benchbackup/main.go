// Command benchbackup measures the box's backup against plain restic: a
// first backup of a generated data set and an incremental one after 1% of
// its files changed, through `ruche backup now` and through `restic backup`
// with the same options, in the same run, and the restore of the latest
// snapshot.
//
// It builds nothing: -ruche and -restic name the binaries (make bench
// passes bin/ruche and bin/restic). Under a temporary root it applies a
// pack with a local backup target (ROOT/var/backups/ruche/restic, password
// in the secret "restic"), then writes a deterministic data set (seeded
// random: many small wiki pages and their metadata, images in the wiki,
// documents and MB-sized photos in two sites' uploads; 10,000 files,
// 500 MB by default) where backup/contents.go looks: var/lib/ruche/wiki and
// var/lib/ruche/sites/NAME/uploads.
//
// Each round (4 by default, so that each side goes first as often), both
// sides in turn; which side goes first alternates from round to round, and
// from one incremental backup to the next, the first incremental backup of
// a round taking the reverse order of the first backups:
//
//   - first backup into a fresh repository with an empty cache folder:
//     `ruche backup now --root R --restic RESTIC` (which runs restic backup,
//     gets "no repository", runs restic init and backup again), against
//     `restic init` then `restic backup` with the arguments Ruche gives
//     restic (checked against the command line of the restic process
//     Ruche starts), into a repository of its own with a cache folder of its
//     own, the same password file;
//   - incremental backups (3 a round by default), each after 1% of the
//     files changed (one change, applied once before both sides run),
//     caches warm on both sides;
//   - restore of the latest snapshot into an empty folder with plain
//     `restic restore` and `restic restore --verify`, and with
//     `ruche backup restore latest --to DIR` (which verifies what it
//     extracts, hence compared with --verify) when the ruche binary has
//     that command; otherwise the report says it was not measured.
//
// Before each measured command the file system is synced and the machine
// left alone for a second. The peak resident memory of each restic process
// is sampled from /proc/PID/status (VmHWM) every 20 ms; for ruche, the
// restic processes it starts.
//
// The figures go into the section "backup" of docs/benchmarks.md (between
// <!-- bench:backup --> markers, cmd/internal/benchmd). Nothing leaves the
// machine: the repositories are local folders.
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

	"github.com/ruche-box/ruche/cmd/internal/benchmd"
)

type options struct {
	ruche, restic, out, command, work string
	keep                              bool
	files, changed, rounds            int
	incrementals                      int
	megabytes                         int64
	seed                              uint64
	timeout                           time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.ruche, "ruche", "", "the ruche binary to run (required; make bench passes bin/ruche)")
	flag.StringVar(&o.restic, "restic", "", "the restic binary, for both sides (required; make bench passes bin/restic)")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "Markdown file whose backup section is rewritten (empty: print only)")
	flag.StringVar(&o.command, "command", "", "the command line to print in the report (default: this one)")
	flag.StringVar(&o.work, "work", "", "work folder (default: a new temporary folder, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder")
	flag.IntVar(&o.files, "files", 10000, "files in the data set")
	flag.Int64Var(&o.megabytes, "mb", 500, "size of the data set, in MB (10^6 bytes)")
	flag.IntVar(&o.changed, "changed", 0, "files changed before the incremental backup (default: 1% of -files)")
	flag.IntVar(&o.rounds, "rounds", 4, "rounds (each: first backups, incremental backups, restores)")
	flag.IntVar(&o.incrementals, "incrementals", 3, "incremental backups per round, each after its own change")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the data set and of the changes")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	if o.changed == 0 {
		o.changed = max(1, o.files/100)
	}
	if flag.NArg() > 0 || o.ruche == "" || o.restic == "" || o.files < len(classes) || o.megabytes < 1 || o.rounds < 1 || o.incrementals < 1 || o.changed > o.files {
		fmt.Fprintln(os.Stderr, "usage: benchbackup -ruche PATH -restic PATH [-out docs/benchmarks.md] [-files 10000] [-mb 500] [-rounds 4] [-incrementals 3]")
		return 2
	}
	if o.command == "" {
		o.command = "go run ./cmd/benchbackup " + strings.Join(os.Args[1:], " ")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	res, err := bench(ctx, &o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchbackup:", err)
		return 1
	}
	section := report(res, o.command)
	fmt.Print(section)
	if o.out != "" {
		if err := benchmd.ReplaceSection(o.out, "backup", section); err != nil {
			fmt.Fprintln(os.Stderr, "benchbackup:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "benchbackup: section backup written to %s\n", o.out)
	}
	return 0
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchbackup: "+format+"\n", a...)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// abs makes every path of o absolute.
func (o *options) abs() error {
	for _, p := range []*string{&o.ruche, &o.restic, &o.work} {
		a, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = a
	}
	return nil
}
