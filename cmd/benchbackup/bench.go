package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchenv"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
)

// pack is the measured box: the wiki, two sites whose uploads folders hold
// the documents and photos, and one local backup target under the root.
const pack = `apiVersion: ruche/v1
kind: Pack
association: {name: "Banc d'essai", slug: banc, locale: fr}
box: {hostname: banc, tls: "off"}
wiki: {enabled: true, title: "Wiki du banc d'essai"}
sites:
  - name: vitrine
    domains: [banc.example]
    template: showcase
    title: Vitrine
    pages: [{path: /, title: Accueil, body: Bonjour}]
  - name: atelier
    domains: [atelier.banc.example]
    template: showcase
    title: Atelier
    pages: [{path: /, title: Accueil, body: Bonjour}]
backup:
  keep: {daily: 7}
  password_secret: restic
  targets:
    - {name: local, repository: /var/backups/ruche/restic}
panel:
  users: [{login: alice, role: admin}]
`

// Where things are, relative to the root or to the work folder.
const (
	rucheRepoRel = "var/backups/ruche/restic" // the pack's local target, under the root
	password     = "correct horse battery staple\n"
)

// side is one of the two ways of backing up.
type side string

const (
	sideRuche  side = "ruche"
	sidePlain  side = "restic"
	restoreDir      = "restore"
)

// box is the work folder: the box's root, and plain restic's repository and
// cache beside it, on the same file system.
type box struct {
	o                     *options
	root, home            string
	rucheRepo, rucheCache string
	plainRepo, plainCache string
	passwordFile          string
	plainBackup           []string // restic's arguments for a backup, as Ruche gives them (the cache folder aside)
	rucheEnv              []string
	loads                 []float64 // the 1-minute load average before each measured command
}

func bench(ctx context.Context, o *options) (res *result, err error) {
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "benchbackup-"); err != nil {
			return nil, err
		}
		if !o.keep {
			defer os.RemoveAll(o.work)
		}
	}
	if err := o.abs(); err != nil {
		return nil, err
	}
	b := &box{
		o:          o,
		root:       filepath.Join(o.work, "root"),
		home:       filepath.Join(o.work, "home"),
		plainRepo:  filepath.Join(o.work, "plain", "repo"),
		plainCache: filepath.Join(o.work, "plain", "cache"),
	}
	b.rucheRepo = filepath.Join(b.root, rucheRepoRel)
	b.rucheCache = filepath.Join(b.root, provision.ResticCacheDir)
	b.passwordFile = provision.SecretPath(b.root, "restic")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "RESTIC_") && !strings.HasPrefix(kv, backup.BinaryEnv+"=") {
			b.rucheEnv = append(b.rucheEnv, kv)
		}
	}
	b.rucheEnv = append(b.rucheEnv, "HOME="+b.home)

	res = newResult()
	res.date, res.machine, res.loadBefore = time.Now().UTC().Format("2006-01-02"), machine(o.work), benchenv.Loadavg()
	res.resticVersion, res.rucheVersion = benchenv.FirstLine(ctx, o.restic, "version"), benchenv.FirstLine(ctx, o.ruche, "version")
	res.rounds, res.incrementals, res.goVersion = o.rounds, o.incrementals, runtime.Version()

	if err := b.setup(ctx); err != nil {
		return nil, err
	}
	specs, err := plan(o.files, o.megabytes*1_000_000, o.seed)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := writeDataset(b.root, specs, o.seed); err != nil {
		return nil, err
	}
	res.files, res.bytes, res.binaryBytes = totals(specs)
	res.classes = classRows(specs)
	res.changed = o.changed
	logf("data set: %d files, %d bytes (%d random), written in %v", res.files, res.bytes, res.binaryBytes, time.Since(t0).Round(time.Millisecond))
	if err := b.plainArgs(); err != nil {
		return nil, err
	}
	res.resticArgs = displayArgs(b.plainBackup, b.root, o.work)
	res.rucheRestore = b.rucheRestoreAvailable(ctx)

	for r := 0; r < o.rounds; r++ {
		order := []side{sideRuche, sidePlain}
		if r%2 == 1 {
			order = []side{sidePlain, sideRuche}
		}
		if err := b.reset(); err != nil {
			return nil, err
		}
		for _, s := range order {
			if err := b.settle(ctx); err != nil {
				return nil, err
			}
			m, err := b.first(ctx, s, res, r)
			if err != nil {
				return nil, fmt.Errorf("round %d, first backup through %s: %w", r+1, s, err)
			}
			res.runs[phaseFirst][s].add(m)
		}

		for k := 0; k < o.incrementals; k++ {
			n := r*o.incrementals + k
			var changedBytes int64
			picked := changes(specs, o.changed, o.seed*1000+uint64(n))
			for _, i := range picked {
				size, err := applyChange(b.root, specs, i, o.seed, uint64(n+1))
				if err != nil {
					return nil, err
				}
				specs[i].Size = size
				changedBytes += size
			}
			res.changedBytes = append(res.changedBytes, changedBytes)
			logf("round %d, incremental %d: %d files changed (%d bytes)", r+1, k+1, len(picked), changedBytes)
			sides := []side{order[1], order[0]}
			if k%2 == 1 {
				sides = order
			}
			for _, s := range sides {
				if err := b.settle(ctx); err != nil {
					return nil, err
				}
				m, err := b.incremental(ctx, s, res)
				if err != nil {
					return nil, fmt.Errorf("round %d, incremental backup %d through %s: %w", r+1, k+1, s, err)
				}
				res.runs[phaseIncr][s].add(m)
			}
		}

		for _, s := range order {
			if s == sideRuche && res.rucheRestore != "" {
				continue
			}
			verifies := []bool{true} // ruche backup restore --to verifies what it extracted
			if s == sidePlain {
				verifies = []bool{false, true}
			}
			for _, verify := range verifies {
				if err := b.settle(ctx); err != nil {
					return nil, err
				}
				m, err := b.restore(ctx, s, verify, res)
				if err != nil {
					return nil, fmt.Errorf("round %d, restore through %s: %w", r+1, s, err)
				}
				ph := phaseRestore
				if verify {
					ph = phaseVerify
				}
				res.runs[ph][s].add(m)
			}
		}
	}
	if err := b.fixedCosts(ctx, res); err != nil {
		return nil, err
	}
	res.repoFiles[sideRuche], res.repoBytes[sideRuche] = treeSize(b.rucheRepo)
	res.repoFiles[sidePlain], res.repoBytes[sidePlain] = treeSize(b.plainRepo)
	res.loadAfter, res.loadDuring = benchenv.Loadavg(), b.loads
	return res, nil
}

// setup writes the secret and applies the pack under the root.
func (b *box) setup(ctx context.Context) error {
	for _, d := range []string{filepath.Join(b.root, provision.SecretsDir), b.home, filepath.Dir(b.plainRepo)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(b.passwordFile, []byte(password), 0o600); err != nil {
		return err
	}
	packFile := filepath.Join(b.o.work, "pack.yaml")
	if err := os.WriteFile(packFile, []byte(pack), 0o644); err != nil {
		return err
	}
	m, err := runMeasured(ctx, []string{b.o.ruche, "apply", "--lang", "en", "--root", b.root, packFile}, b.rucheEnv, b.o.work, true)
	if err != nil {
		return err
	}
	if m.code != 0 {
		return fmt.Errorf("ruche apply: exit %d: %s", m.code, tailText(m.stderr, 20))
	}
	logf("ruche apply --root %s: applied in %v", b.root, m.wall.Round(time.Millisecond))
	return nil
}

// plainArgs is what Ruche gives restic for a backup (backup.ContentsOf of
// the live pack, the snapshot's host and tags), with plain restic's cache.
func (b *box) plainArgs() error {
	raw, err := os.ReadFile(filepath.Join(b.root, provision.PackPath))
	if err != nil {
		return err
	}
	p, err := provision.Load(provision.PackPath, raw)
	if err != nil {
		return err
	}
	c, err := backup.ContentsOf(b.root, p)
	if err != nil {
		return err
	}
	revs, err := provision.ListRevisions(b.root)
	if err != nil || len(revs) == 0 {
		return fmt.Errorf("no pack revision under %s (%v)", b.root, err)
	}
	args := []string{"--json", "--password-file", b.passwordFile, "--cache-dir", b.plainCache, "backup",
		"--host", p.Box.Hostname, "--tag", backup.TagRuche, "--tag", backup.TagRevisionPrefix + strconv.Itoa(revs[len(revs)-1].Number)}
	for _, e := range c.Excludes {
		args = append(args, "--exclude", e)
	}
	b.plainBackup = append(append(args, "--"), c.Paths...)
	return nil
}

// resticEnv is the environment Ruche gives restic (backup.Repo): nothing
// inherited but PATH and TMPDIR, LC_ALL=C, HOME the cache folder, four
// status lines a second.
func resticEnv(repo, cache string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + cache, "RESTIC_PROGRESS_FPS=4"}
	if t := os.Getenv("TMPDIR"); t != "" {
		env = append(env, "TMPDIR="+t)
	}
	return append(env, "RESTIC_REPOSITORY="+repo)
}

// reset removes both repositories and both caches: the first backups of a
// round start from nothing.
func (b *box) reset() error {
	for _, d := range []string{b.rucheRepo, b.rucheCache, b.plainRepo, b.plainCache} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

// settle flushes what earlier steps wrote and lets the disk catch up, so
// that no run pays for the one before.
func (b *box) settle(ctx context.Context) error {
	syscall.Sync()
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	if f := strings.Fields(benchenv.Loadavg()); len(f) > 0 {
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			b.loads = append(b.loads, v)
		}
	}
	return nil
}

func (b *box) rucheBackup(ctx context.Context) (*measured, error) {
	argv := []string{b.o.ruche, "backup", "now", "--root", b.root, "--restic", b.o.restic, "--lang", "en", "--verbose"}
	m, err := runMeasured(ctx, argv, b.rucheEnv, b.o.work, true)
	if err != nil {
		return nil, err
	}
	if m.code != 0 {
		return nil, fmt.Errorf("ruche backup now: exit %d:\n%s\n%s", m.code, m.stdout, tailText(m.stderr, 20))
	}
	return m, nil
}

func (b *box) plainRestic(ctx context.Context, args ...string) (*measured, error) {
	m, err := runMeasured(ctx, append([]string{b.o.restic}, args...), resticEnv(b.plainRepo, b.plainCache), b.root, false)
	if err != nil {
		return nil, err
	}
	if m.code != 0 {
		return nil, fmt.Errorf("restic %s: exit %d: %s", resticSubcommand(args), m.code, tailText(m.stderr, 20))
	}
	return m, nil
}

// first is a first backup into a fresh repository: ruche backup now, or
// restic init and restic backup.
func (b *box) first(ctx context.Context, s side, res *result, round int) (*measured, error) {
	if s == sideRuche {
		m, err := b.rucheBackup(ctx)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(m.stdout, []byte("(repository created)")) {
			return nil, fmt.Errorf("ruche backup now did not create the repository: %s", m.stdout)
		}
		res.addBreakdown(phaseFirst, m)
		if round == 0 {
			res.argsCheck = b.compareArgs(m)
		}
		logf("first backup, ruche: %v, restic peak %s; %s", m.wall.Round(time.Millisecond), mib(m.peakKiB()), strings.TrimSpace(string(m.stdout)))
		return m, nil
	}
	init, err := b.plainRestic(ctx, "--json", "--password-file", b.passwordFile, "--cache-dir", b.plainCache, "init")
	if err != nil {
		return nil, err
	}
	m, err := b.plainRestic(ctx, b.plainBackup...)
	if err != nil {
		return nil, err
	}
	sum, err := summary(m.stdout)
	if err != nil {
		return nil, err
	}
	res.plainInit = append(res.plainInit, init.wall)
	res.plainBackupOnly = append(res.plainBackupOnly, m.wall)
	res.plainRusage = max(res.plainRusage, m.maxRSSKiB)
	res.firstSummary = sum
	logf("first backup, restic: init %v + backup %v, peak %s (rusage %s); %d files, %d bytes, %d added, %d stored",
		init.wall.Round(time.Millisecond), m.wall.Round(time.Millisecond), mib(m.peakKiB()), mib(m.maxRSSKiB),
		sum.TotalFilesProcessed, sum.TotalBytesProcessed, sum.DataAdded, sum.DataAddedPacked)
	// One run, both commands: the time and memory of init and backup.
	m.wall += init.wall
	m.restics = append([]*resticProc{init.restics[0]}, m.restics...)
	return m, nil
}

func (b *box) incremental(ctx context.Context, s side, res *result) (*measured, error) {
	if s == sideRuche {
		m, err := b.rucheBackup(ctx)
		if err != nil {
			return nil, err
		}
		res.addBreakdown(phaseIncr, m)
		logf("incremental backup, ruche: %v, restic peak %s; %s", m.wall.Round(time.Millisecond), mib(m.peakKiB()), strings.TrimSpace(string(m.stdout)))
		return m, nil
	}
	m, err := b.plainRestic(ctx, b.plainBackup...)
	if err != nil {
		return nil, err
	}
	sum, err := summary(m.stdout)
	if err != nil {
		return nil, err
	}
	res.incrSummary = sum
	res.plainRusage = max(res.plainRusage, m.maxRSSKiB)
	logf("incremental backup, restic: %v, peak %s (rusage %s); %d new, %d changed, %d added, %d stored",
		m.wall.Round(time.Millisecond), mib(m.peakKiB()), mib(m.maxRSSKiB), sum.FilesNew, sum.FilesChanged, sum.DataAdded, sum.DataAddedPacked)
	return m, nil
}

// restore restores the latest snapshot of the side's own repository into
// an empty folder, checks that the data set came back, and removes it.
func (b *box) restore(ctx context.Context, s side, verify bool, res *result) (*measured, error) {
	dir := filepath.Join(b.o.work, restoreDir+"-"+string(s))
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var m *measured
	var err error
	if s == sideRuche {
		argv := []string{b.o.ruche, "backup", "restore", "latest", "--root", b.root, "--restic", b.o.restic, "--to", dir, "--lang", "en", "--verbose"}
		if m, err = runMeasured(ctx, argv, b.rucheEnv, b.o.work, true); err == nil && m.code != 0 {
			err = fmt.Errorf("ruche backup restore: exit %d:\n%s\n%s", m.code, m.stdout, tailText(m.stderr, 20))
		}
		if err == nil {
			res.addBreakdown(phaseVerify, m)
		}
	} else {
		args := []string{"--json", "--password-file", b.passwordFile, "--cache-dir", b.plainCache, "restore", "latest", "--target", dir}
		if verify {
			args = append(args, "--verify")
		}
		m, err = b.plainRestic(ctx, args...)
	}
	if err != nil {
		return nil, err
	}
	files, size := treeSize(filepath.Join(dir, provision.StateDir))
	res.restored[s] = [2]int64{int64(files), size}
	logf("restore, %s (verify %v): %v, %d files, %d bytes under var/lib/ruche", s, verify, m.wall.Round(time.Millisecond), files, size)
	if files < res.files || size < res.bytes {
		return nil, fmt.Errorf("restore through %s brought back %d files, %d bytes under var/lib/ruche: the data set is %d files, %d bytes", s, files, size, res.files, res.bytes)
	}
	return m, nil
}

// fixedCosts measures what every run pays whatever the data: starting a
// ruche and a restic process (their version commands, 10 times each) and
// opening a repository's key (restic cat config, 3 times: scrypt with the
// parameters restic init calibrated on this machine).
func (b *box) fixedCosts(ctx context.Context, res *result) error {
	timeN := func(n int, argv []string, env []string) (d []time.Duration, err error) {
		for range n {
			m, err := runMeasured(ctx, argv, env, b.o.work, false)
			if err != nil {
				return nil, err
			}
			if m.code != 0 {
				return nil, fmt.Errorf("%s: exit %d: %s", strings.Join(argv, " "), m.code, tailText(m.stderr, 5))
			}
			d = append(d, m.wall)
		}
		return d, nil
	}
	var err error
	if res.startRuche, err = timeN(10, []string{b.o.ruche, "version"}, b.rucheEnv); err != nil {
		return err
	}
	if res.startRestic, err = timeN(10, []string{b.o.restic, "version"}, resticEnv(b.plainRepo, b.plainCache)); err != nil {
		return err
	}
	res.keyOpen, err = timeN(3, []string{b.o.restic, "--json", "--password-file", b.passwordFile, "--cache-dir", b.plainCache, "cat", "config"}, resticEnv(b.plainRepo, b.plainCache))
	return err
}

// rucheRestoreAvailable is "" when the ruche binary has `backup restore`
// with --to, else why it is not measured.
func (b *box) rucheRestoreAvailable(ctx context.Context) string {
	m, err := runMeasured(ctx, []string{b.o.ruche, "backup", "restore", "--help", "--lang", "en"}, b.rucheEnv, b.o.work, false)
	if err == nil && m.code == 0 && bytes.Contains(m.stdout, []byte("backup restore")) && bytes.Contains(m.stdout, []byte("--to")) {
		return ""
	}
	return "not measured (command not available yet)"
}

// compareArgs checks that plain restic gets the arguments Ruche gave its
// restic backup (the cache folder aside).
func (b *box) compareArgs(m *measured) string {
	var seen []string
	for _, r := range m.restics {
		if r.subcommand() == "backup" {
			seen = r.args
		}
	}
	if seen == nil {
		return "the restic process Ruche started was not seen"
	}
	norm := func(a []string) []string {
		a = slices.Clone(a)
		for i := range a {
			if i > 0 && a[i-1] == "--cache-dir" {
				a[i] = "CACHE"
			}
		}
		return a
	}
	if slices.Equal(norm(seen), norm(b.plainBackup)) {
		return ""
	}
	return fmt.Sprintf("Ruche's restic ran `restic %s`", displayArgs(seen, b.root, b.o.work))
}

// summary is restic backup's summary message.
func summary(stdout []byte) (*backup.Summary, error) {
	for _, line := range bytes.Split(stdout, []byte("\n")) {
		var head struct {
			Type string `json:"message_type"`
		}
		if json.Unmarshal(line, &head) == nil && head.Type == "summary" {
			var s backup.Summary
			if err := json.Unmarshal(line, &s); err != nil {
				return nil, err
			}
			return &s, nil
		}
	}
	return nil, errors.New("restic backup printed no summary")
}

// resticLine is a line of `ruche backup --verbose` on one restic command.
var resticLine = regexp.MustCompile(`msg=restic .*\bcommand=(\S+) .*\bexit=(-?\d+) duration=(\S+)`)

// resticCall is one restic command Ruche ran, as its log tells.
type resticCall struct {
	command string
	exit    int
	took    time.Duration
}

// parseResticLog reads the restic commands from ruche's verbose log.
func parseResticLog(stderr []byte) []resticCall {
	var out []resticCall
	for _, line := range strings.Split(string(stderr), "\n") {
		m := resticLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		code, _ := strconv.Atoi(m[2])
		d, err := time.ParseDuration(m[3])
		if err != nil {
			continue
		}
		out = append(out, resticCall{command: m[1], exit: code, took: d})
	}
	return out
}

// displayArgs writes arguments for the report, the temporary folders
// replaced by ROOT and WORK.
func displayArgs(args []string, root, work string) string {
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, root, "ROOT")
		a = strings.ReplaceAll(a, work, "WORK")
		if strings.ContainsAny(a, " *?[]\\'\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func tailText(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
