package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/cmd/internal/benchmd"
)

// The measured phases.
const (
	phaseFirst   = "first"
	phaseIncr    = "incremental"
	phaseRestore = "restore"
	phaseVerify  = "restore, verified"
)

// goal is the issue's: Ruche's backup at most 5% slower than restic's.
const goal = 1.05

// runs are one side's runs of one phase, in round order.
type runs struct {
	walls []time.Duration
	peaks []int64 // KiB: the largest VmHWM of the restic processes of each run
}

func (r *runs) add(m *measured) {
	r.walls = append(r.walls, m.wall)
	r.peaks = append(r.peaks, m.peakKiB())
}

func (r *runs) median() time.Duration { return medianDur(r.walls) }

func (r *runs) peakMax() int64 {
	var p int64
	for _, v := range r.peaks {
		p = max(p, v)
	}
	return p
}

func medianDur(v []time.Duration) time.Duration {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d)
	}
	return time.Duration(benchmd.Median(f))
}

// breakdown is one `ruche backup now`: its whole time and the restic
// commands it ran.
type breakdown struct {
	total time.Duration
	calls []resticCall
}

// classRow is one class of files of the data set.
type classRow struct {
	name          string
	files         int
	bytes         int64
	binary, mixed bool
}

func classRows(specs []fileSpec) []classRow {
	var out []classRow
	idx := map[string]int{}
	for _, s := range specs {
		i, ok := idx[s.Class]
		if !ok {
			i = len(out)
			idx[s.Class] = i
			out = append(out, classRow{name: s.Class, binary: s.Binary})
		}
		out[i].files++
		out[i].bytes += s.Size
		if s.Binary != out[i].binary {
			out[i].mixed = true
		}
	}
	return out
}

// result is everything one run measured.
type result struct {
	date, machine                          string
	loadBefore, loadAfter                  string
	loadDuring                             []float64 // 1-minute load average before each measured command
	resticVersion, rucheVersion, goVersion string
	rounds, incrementals                   int

	files              int
	bytes, binaryBytes int64
	classes            []classRow
	changed            int
	changedBytes       []int64 // per round

	runs                       map[string]map[side]*runs
	plainInit, plainBackupOnly []time.Duration
	plainRusage                int64 // KiB: the kernel's peak of plain restic, to check the samples
	firstSummary, incrSummary  *backup.Summary
	breakdowns                 map[string][]breakdown

	rucheRestore string // "" when measured, else why not
	restored     map[side][2]int64
	repoFiles    map[side]int
	repoBytes    map[side]int64

	startRuche, startRestic []time.Duration // `ruche version`, `restic version`
	keyOpen                 []time.Duration // `restic cat config`

	resticArgs string // plain restic's backup arguments, temporary folders shortened
	argsCheck  string // "" when Ruche's restic got the same ones
}

func newResult() *result {
	r := &result{
		runs:       map[string]map[side]*runs{},
		breakdowns: map[string][]breakdown{},
		restored:   map[side][2]int64{},
		repoFiles:  map[side]int{},
		repoBytes:  map[side]int64{},
	}
	for _, ph := range []string{phaseFirst, phaseIncr, phaseRestore, phaseVerify} {
		r.runs[ph] = map[side]*runs{sideRuche: {}, sidePlain: {}}
	}
	return r
}

func (r *result) addBreakdown(phase string, m *measured) {
	r.breakdowns[phase] = append(r.breakdowns[phase], breakdown{total: m.wall, calls: parseResticLog(m.stderr)})
}

func secs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// msec writes a short duration in milliseconds, a longer one in seconds.
func msec(d time.Duration) string {
	if d >= time.Second {
		return secs(d)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

func mb(b int64) string {
	if b < 1_000_000 {
		return fmt.Sprintf("%.1f kB", float64(b)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func verdict(x float64) string {
	if x <= goal {
		return fmt.Sprintf("≤ %.2f: met", goal)
	}
	return fmt.Sprintf("≤ %.2f: **not met**", goal)
}

func joinDur(v []time.Duration) string {
	s := make([]string, len(v))
	for i, d := range v {
		s[i] = secs(d)
	}
	return strings.Join(s, ", ")
}

// pairRatios are ruche/restic for each pair of runs.
func pairRatios(rs map[side]*runs) []float64 {
	a, b := rs[sideRuche].walls, rs[sidePlain].walls
	var out []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		out = append(out, ratio(float64(a[i]), float64(b[i])))
	}
	return out
}

func joinRatios(rs map[side]*runs) string {
	var s []string
	for _, x := range pairRatios(rs) {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, ", ")
}

func medianRatio(rs map[side]*runs) float64 { return benchmd.Median(pairRatios(rs)) }

func joinMiB(v []int64) string {
	s := make([]string, len(v))
	for i, k := range v {
		s[i] = mib(k)
	}
	return strings.Join(s, ", ")
}

// report is the Markdown section "backup" of docs/benchmarks.md.
func report(r *result, command string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	first, incr, rest, ver := r.runs[phaseFirst], r.runs[phaseIncr], r.runs[phaseRestore], r.runs[phaseVerify]
	p("<!-- bench:backup -->\n")
	p("## Backup: `ruche backup now` against plain restic / Sauvegarde : Ruche face à restic seul\n\n")
	during := ""
	if len(r.loadDuring) > 0 {
		during = fmt.Sprintf(", %.2f (median) and %.2f at most during the run, read before each measured command", benchmd.Median(r.loadDuring), slices.Max(r.loadDuring))
	}
	p("Measured %s on %s, load average %s before and %s after%s, with:\n\n    %s\n\n", r.date, r.machine, r.loadBefore, r.loadAfter, during, command)
	p("%s (the same binary for both sides); %s. A box applied under a temporary root (a wiki, two sites, one local target `/var/backups/ruche/restic` under the root), with a generated data set of **%s files, %s** (seeded, the same every run) in the wiki's data and the sites' uploads; ", r.resticVersion, r.rucheVersion, thousands(int64(r.files)), mb(r.bytes))
	p("%d rounds, medians; in each, the first backups, then %d times %s files (%.0f%%) changed and the incremental backups, then the restores (%d first backups, %d incremental backups and %d restores of each kind per side in all). ",
		r.rounds, r.incrementals, thousands(int64(r.changed)), 100*float64(r.changed)/float64(max(1, r.files)), r.rounds, r.rounds*r.incrementals, r.rounds)
	p("Which side goes first alternates from round to round and from one incremental backup to the next. Before each measured command: `sync` and 1 s of rest.\n\n")

	p("| | Ruche | plain restic | ratio ruche / restic | goal |\n|---|---|---|---|---|\n")
	fr, fp := first[sideRuche].median(), first[sidePlain].median()
	ir, ip := incr[sideRuche].median(), incr[sidePlain].median()
	rf, ri := ratio(float64(fr), float64(fp)), ratio(float64(ir), float64(ip))
	p("| first backup, new repository (`ruche backup now` / `restic init` + `restic backup`) | %s | %s | **%.2f** | %s |\n", secs(fr), secs(fp), rf, verdict(rf))
	p("| incremental backup, %d files changed | %s | %s | **%.2f** | %s |\n", r.changed, secs(ir), secs(ip), ri, verdict(ri))
	rr, rratio := "ruche backup restore: "+r.rucheRestore, "–"
	if r.rucheRestore == "" {
		rr = secs(ver[sideRuche].median())
		rratio = fmt.Sprintf("%.2f", ratio(float64(ver[sideRuche].median()), float64(ver[sidePlain].median())))
	}
	p("| restore of the latest snapshot into an empty folder (`restic restore latest --target DIR`) | | %s | | |\n", secs(rest[sidePlain].median()))
	p("| the same, verified (`ruche backup restore latest --to DIR` / `restic restore --verify`) | %s | %s | %s | |\n", rr, secs(ver[sidePlain].median()), rratio)
	p("| peak memory of restic (VmHWM, largest of the runs), first backup | %s | %s | %.2f | the box has 1 GiB |\n",
		mib(first[sideRuche].peakMax()), mib(first[sidePlain].peakMax()), ratio(float64(first[sideRuche].peakMax()), float64(first[sidePlain].peakMax())))
	p("| peak memory of restic, incremental backup | %s | %s | %.2f | |\n",
		mib(incr[sideRuche].peakMax()), mib(incr[sidePlain].peakMax()), ratio(float64(incr[sideRuche].peakMax()), float64(incr[sidePlain].peakMax())))
	rucheRestoreMem := "–"
	if r.rucheRestore == "" {
		rucheRestoreMem = mib(ver[sideRuche].peakMax())
	}
	p("| peak memory of restic, restore / verified restore | – / %s | %s / %s | | |\n", rucheRestoreMem, mib(rest[sidePlain].peakMax()), mib(ver[sidePlain].peakMax()))
	p("\nEach round, in order:\n\n")
	p("- first backup: ruche %s; restic %s (of which `restic init` %s)\n", joinDur(first[sideRuche].walls), joinDur(first[sidePlain].walls), joinDur(r.plainInit))
	p("- incremental backup: ruche %s; restic %s\n", joinDur(incr[sideRuche].walls), joinDur(incr[sidePlain].walls))
	p("- ratio ruche / restic of each pair: first backup %s (median %.2f); incremental %s (median %.2f)\n",
		joinRatios(first), medianRatio(first), joinRatios(incr), medianRatio(incr))
	p("- restore: restic %s; verified: restic %s", joinDur(rest[sidePlain].walls), joinDur(ver[sidePlain].walls))
	if r.rucheRestore == "" {
		p("; ruche %s\n", joinDur(ver[sideRuche].walls))
	} else {
		p("; ruche backup restore: %s\n", r.rucheRestore)
	}
	p("- restic's peak memory, first backup: ruche's %s; plain %s. Incremental: ruche's %s; plain %s\n",
		joinMiB(first[sideRuche].peaks), joinMiB(first[sidePlain].peaks), joinMiB(incr[sideRuche].peaks), joinMiB(incr[sidePlain].peaks))

	p("\n### Where Ruche's time goes\n\n")
	p("From `ruche backup now --verbose` and `ruche backup restore --verbose`, which log each restic command they run with its duration (medians of the runs; ×N: N runs of that command each time). Ruche's own time is all the rest: starting, reading the pack, the database copy (`VACUUM INTO`) and the state file for a backup; the checks of paths, sizes and the database for a restore.\n\n")
	p("| | Ruche | restic commands Ruche ran | Ruche's own | plain restic |\n|---|---|---|---|---|\n")
	ownMedian := map[string]time.Duration{}
	labels := map[string]string{phaseFirst: "first backup", phaseIncr: "incremental backup", phaseVerify: "restore, verified"}
	for _, ph := range []string{phaseFirst, phaseIncr, phaseVerify} {
		bd := r.breakdowns[ph]
		if len(bd) == 0 {
			continue
		}
		var totals, own []time.Duration
		byCmd := map[string][]time.Duration{}
		count := map[string]int{}
		var names []string
		for _, x := range bd {
			totals = append(totals, x.total)
			var sum time.Duration
			seen := map[string]time.Duration{}
			n := map[string]int{}
			for _, c := range x.calls {
				name := "`restic " + c.command + "`"
				if c.exit != 0 {
					name += fmt.Sprintf(" (exit %d)", c.exit)
				}
				if _, ok := byCmd[name]; !ok {
					names = append(names, name)
					byCmd[name] = nil
				}
				seen[name] += c.took
				n[name]++
				sum += c.took
			}
			for name, d := range seen {
				byCmd[name] = append(byCmd[name], d)
				count[name] = max(count[name], n[name])
			}
			own = append(own, x.total-sum)
		}
		var cmds []string
		for _, n := range names {
			times := ""
			if count[n] > 1 {
				times = fmt.Sprintf(" ×%d", count[n])
			}
			cmds = append(cmds, fmt.Sprintf("%s%s %s", n, times, secs(medianDur(byCmd[n]))))
		}
		plain := secs(r.runs[ph][sidePlain].median())
		switch ph {
		case phaseFirst:
			if len(r.plainInit) > 0 {
				plain = fmt.Sprintf("%s (`restic init` %s, `restic backup` %s)", plain, secs(medianDur(r.plainInit)), secs(medianDur(r.plainBackupOnly)))
			}
		case phaseVerify:
			plain += " (`restic restore --verify`)"
		}
		ownMedian[ph] = medianDur(own)
		p("| %s | %s | %s | %s | %s |\n", labels[ph], secs(medianDur(totals)), strings.Join(cmds, ", "), msec(ownMedian[ph]), plain)
	}
	if len(r.startRuche) > 0 && len(r.keyOpen) > 0 {
		p("\nFixed costs, measured apart in the same run: starting a process, `ruche version` %s and `restic version` %s (medians of %d); opening the repository's key, `restic cat config` %s (median of %d): scrypt with the parameters `restic init` calibrated on this machine, which every restic command pays once, on both sides (init's calibration is most of `restic init`'s time). ",
			msec(medianDur(r.startRuche)), msec(medianDur(r.startRestic)), len(r.startRuche), secs(medianDur(r.keyOpen)), len(r.keyOpen))
		if o, ok := ownMedian[phaseIncr]; ok {
			p("Ruche's own time does not grow with the data: %s per `ruche backup now` here, that is %.1f%% of plain restic's incremental backup (itself %s of key opening and %s of work), %.1f%% of its first backup.",
				msec(o), 100*ratio(float64(o), float64(incr[sidePlain].median())), secs(medianDur(r.keyOpen)), secs(incr[sidePlain].median()-medianDur(r.keyOpen)),
				100*ratio(float64(ownMedian[phaseFirst]), float64(first[sidePlain].median())))
		}
		if bd := r.breakdowns[phaseVerify]; len(bd) > 0 {
			var calls []float64
			for _, x := range bd {
				calls = append(calls, float64(len(x.calls)))
			}
			p(" The verified restore through Ruche ran %.0f restic commands (median) where plain restic runs one, and each pays the key opening.", benchmd.Median(calls))
		}
		p("\n")
	}

	p("\n### The data set and the repositories\n\n")
	p("| files | count | size | content |\n|---|---|---|---|\n")
	for _, c := range r.classes {
		kind := "text (DokuWiki markup)"
		switch {
		case c.mixed:
			kind = "half random bytes (PDF), half text"
		case c.binary:
			kind = "random bytes (incompressible)"
		}
		p("| %s | %s | %s | %s |\n", c.name, thousands(int64(c.files)), mb(c.bytes), kind)
	}
	p("| **total** | **%s** | **%s** | %s of random bytes |\n", thousands(int64(r.files)), mb(r.bytes), mb(r.binaryBytes))
	if s := r.firstSummary; s != nil {
		p("\nFirst backup (plain restic's summary): %s files, %s processed (the data set and the box's own files: pack, revisions, rendered sites; Ruche's snapshot has the database copy besides), %s added, %s stored after compression.",
			thousands(int64(s.TotalFilesProcessed)), mb(int64(s.TotalBytesProcessed)), mb(int64(s.DataAdded)), mb(int64(s.DataAddedPacked)))
	}
	if s := r.incrSummary; s != nil {
		p(" The last incremental backup: %s files new, %s changed, %s added, %s stored.", thousands(int64(s.FilesNew)), thousands(int64(s.FilesChanged)), mb(int64(s.DataAdded)), mb(int64(s.DataAddedPacked)))
	}
	lo, hi := int64(0), int64(0)
	for i, c := range r.changedBytes {
		if i == 0 || c < lo {
			lo = c
		}
		hi = max(hi, c)
	}
	p(" The %s files changed before each incremental backup weighed %s to %s: text files edited in place (a passage rewritten, a line added), random files (photos, images, PDFs) replaced by other random bytes of the same size, in every class in proportion to its number of files.\n\n", thousands(int64(r.changed)), mb(lo), mb(hi))
	p("Repositories after the last round (one first and %d incremental backups each): Ruche's %s in %s files, plain restic's %s in %s files.",
		r.incrementals, mb(r.repoBytes[sideRuche]), thousands(int64(r.repoFiles[sideRuche])), mb(r.repoBytes[sidePlain]), thousands(int64(r.repoFiles[sidePlain])))
	if x, ok := r.restored[sidePlain]; ok {
		p(" Each restore was checked to bring back at least the data set: plain restic's put back %s files, %s under `var/lib/ruche`.", thousands(x[0]), mb(x[1]))
	}
	p("\n\n### How each side runs\n\n")
	p("Plain restic runs, in the box's root, what Ruche gives restic (backup/restic.go: `--json`, the password file, a cache folder, the snapshot's host and tags, backup/contents.go's paths and excludes), into a repository of its own beside the root on the same file system:\n\n    restic %s\n\n", r.resticArgs)
	p("with the environment Ruche gives it: `RESTIC_REPOSITORY`, `LC_ALL=C`, `HOME` the cache folder, `RESTIC_PROGRESS_FPS=4`, `PATH`, nothing else; its JSON output is kept in memory and only its summary read, where Ruche parses every line. ")
	if r.argsCheck == "" {
		p("The restic process `ruche backup now` started had the same arguments (read from its `/proc/PID/cmdline`; the cache folder aside).\n\n")
	} else {
		p("**Not the same arguments as Ruche's**: %s.\n\n", r.argsCheck)
	}
	p("Restores: each side restores the latest snapshot of its own repository, cache warm, into an empty folder on the same file system; each restore is checked to bring back at least the data set's files and bytes under `var/lib/ruche`, then removed. `ruche backup restore --to` verifies what it extracts (restic reads every file back and compares it with the snapshot; then paths, sizes and the database's `integrity_check`), so it is compared with `restic restore --verify`.\n\n")
	p("Caches: each side has its own restic cache folder (Ruche's `ROOT/var/cache/ruche/restic`, plain restic's `WORK/plain/cache`), emptied with its repository before each round's first backup: **both cold** for the first backup, **both warm** (filled by that first backup) for the incremental backups and the restores. ")
	p("The data set was written just before and the machine has memory to spare, so both sides read it from the page cache: the times are restic's and Ruche's work and the repository's writes, not the reads of a cold disk.\n\n")
	p("Memory: the largest `VmHWM` of `/proc/PID/status` of each restic process, read every %v while it runs (for Ruche, of the restic processes that `ruche backup now` or `ruche backup restore` starts; for plain restic, of restic itself, whose peak from the kernel (`wait4`'s rusage) was %s at most, as a check of the samples).\n", sampleEvery, mib(r.plainRusage))
	p("<!-- /bench:backup -->\n")
	return b.String()
}
