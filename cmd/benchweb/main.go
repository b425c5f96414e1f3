// Command benchweb measures the box's web server against the plain tool it
// wraps: `ruche up` (Caddy v2 embedded as a library) against Debian's
// `caddy` binary, both serving the same rendered files with the same JSON
// configuration, in the same run, loaded by the same wrk.
//
// It renders a pack of N sites (provision/packgen) with the real binary
// (`ruche apply --root T`), takes T/var/lib/ruche/caddy/caddy.json, starts
// `ruche up --root T --http 127.0.0.1:A` and `caddy run --config X.json`,
// where X is that JSON with its listen address changed and the Ruche-only
// parts replaced (see config.go; every difference is written in the
// report). A third server, plain Caddy built from the same Caddy version
// and Go as ruche (./stockcaddy), runs X too: it tells what embedding costs
// apart from what the Caddy version costs. Each server runs pinned to one
// core (taskset), wrk to the other.
//
// Two measurements, each written into its own section of
// docs/benchmarks.md (between <!-- bench:NAME --> markers, the convention
// of cmd/benchdoc):
//
//   - web-throughput: requests/s and p99 latency, 5 runs per server,
//     alternated, medians, the ratios, and system calls per request
//     counted with strace on a separate load;
//   - web-memory: VmRSS and VmHWM of each server, idle after start and after
//     a bounded load, for 10 and 500 sites.
//
// Only loopback addresses are used; every process started is stopped on
// every way out (error, SIGINT, SIGTERM), and dies with this program if it
// is killed.
package main

import (
	"context"
	"debug/buildinfo"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchmd"
	"github.com/ruche-box/ruche/provision/packgen"
)

type options struct {
	ruche, caddy, wrk string
	stock             bool
	stockBin          string
	strace            bool
	out, raw, command string
	work              string
	keep              bool

	sites, pages         int
	urlSites             int
	runs                 int
	duration, warmup     time.Duration
	threads, connections int
	serverCPU, loadCPU   string

	memSites        []int
	settle, memLoad time.Duration
	timeout         time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.ruche, "ruche", "", "ruche binary to measure (default: go build ./cmd/ruche into the work folder)")
	flag.StringVar(&o.caddy, "caddy", "caddy", "Debian's caddy binary")
	flag.BoolVar(&o.stock, "stock", true, "also measure plain Caddy built from ruche's Caddy version (./cmd/benchweb/stockcaddy)")
	flag.StringVar(&o.stockBin, "stock-bin", "", "that plain Caddy binary (default: go build it into the work folder)")
	flag.BoolVar(&o.strace, "strace", true, "count system calls per request with strace (skipped when strace is missing)")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "Markdown file whose web-* sections are rewritten (empty: print only)")
	flag.StringVar(&o.raw, "raw", "", "also write every raw figure and wrk output to this file")
	flag.StringVar(&o.command, "command", "", "the command line to print in the report (default: this one)")
	flag.StringVar(&o.work, "work", "", "work folder (default: a new temporary folder, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder")
	flag.IntVar(&o.sites, "sites", 100, "sites in the pack of the throughput measurement")
	flag.IntVar(&o.pages, "pages", 3, "pages per site")
	flag.IntVar(&o.urlSites, "url-sites", 8, "sites, spread over the pack, whose pages the load requests")
	flag.IntVar(&o.runs, "runs", 5, "runs per server (alternated; 0: no throughput measurement)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of one run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up load per server")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.IntVar(&o.connections, "connections", 32, "wrk connections (keep-alive)")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "taskset CPU list of the server under test")
	flag.StringVar(&o.loadCPU, "load-cpu", "1", "taskset CPU list of wrk")
	mem := flag.String("mem-sites", "10,500", "pack sizes of the memory measurement (comma-separated; empty: skip)")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "idle time after start before reading memory")
	flag.DurationVar(&o.memLoad, "mem-load", 5*time.Second, "length of the load before reading memory again")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "benchweb: unexpected arguments %q\n", flag.Args())
		return 2
	}
	for _, f := range strings.Split(*mem, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "benchweb: -mem-sites: %q is not a number of sites\n", f)
			return 2
		}
		o.memSites = append(o.memSites, n)
	}
	if o.command == "" {
		o.command = "go run ./cmd/benchweb " + strings.Join(os.Args[1:], " ")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// Whatever happens below, no server outlives this function.
	defer stopAll()

	if err := bench(ctx, &o); err != nil {
		fmt.Fprintln(os.Stderr, "benchweb:", err)
		return 1
	}
	return 0
}

// kind is one server under test.
type kind struct {
	id      string // "ruche", "caddy" (Debian's), "stock" (plain Caddy, ruche's version)
	label   string // for the tables
	bin     string
	version string
}

// env is what the run found about the machine and the tools.
type env struct {
	machine       string
	loadBefore    string // /proc/loadavg at the start
	loadAfter     string
	kinds         []kind
	wrkVersion    string
	strace        string // path, empty when not counting system calls
	knownHandlers map[string]bool
	caddyEnv      []string
}

func (e *env) kind(id string) kind {
	for _, k := range e.kinds {
		if k.id == id {
			return k
		}
	}
	return kind{id: id, label: id}
}

func bench(ctx context.Context, o *options) (err error) {
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "benchweb-"); err != nil {
			return err
		}
		if !o.keep {
			defer func() {
				stopAll() // before the files they serve go
				os.RemoveAll(o.work)
			}()
		}
	} else if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	o.work, _ = filepath.Abs(o.work)
	raw := &rawLog{}
	if o.raw != "" {
		defer func() {
			if werr := os.WriteFile(o.raw, []byte(raw.String()), 0o644); werr != nil && err == nil {
				err = werr
			}
		}()
	}

	e, err := inspect(ctx, o)
	if err != nil {
		return err
	}
	raw.printf("machine: %s\nload average before: %s\nwrk: %s\n", e.machine, e.loadBefore, e.wrkVersion)
	for _, k := range e.kinds {
		raw.printf("%s: %s (%s)\n", k.id, k.bin, k.version)
	}
	raw.printf("\n")

	var memRows []memRow
	for _, n := range o.memSites {
		rows, err := measureMemory(ctx, o, e, n, raw)
		if err != nil {
			return err
		}
		memRows = append(memRows, rows...)
	}
	var tp *throughput
	if o.runs > 0 {
		if tp, err = measureThroughput(ctx, o, e, raw); err != nil {
			return err
		}
	}
	e.loadAfter = loadavg()
	raw.printf("load average after: %s\n", e.loadAfter)

	for _, sec := range renderReport(o, e, tp, memRows) {
		fmt.Println(sec.text)
		if o.out != "" {
			if err := benchmd.ReplaceSection(o.out, sec.name, sec.text); err != nil {
				return err
			}
		}
	}
	if o.out != "" {
		fmt.Fprintf(os.Stderr, "benchweb: %s updated\n", o.out)
	}
	return nil
}

// inspect finds the tools, builds what is missing, and reads the versions
// and the machine.
func inspect(ctx context.Context, o *options) (*env, error) {
	e := &env{machine: machine(), loadBefore: loadavg()}
	for _, tool := range []*string{&o.caddy, &o.wrk} {
		p, err := exec.LookPath(*tool)
		if err != nil {
			return nil, fmt.Errorf("%s not found (make bench installs it: apt-get install caddy wrk): %w", *tool, err)
		}
		*tool = p
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return nil, fmt.Errorf("taskset (util-linux) not found: %w", err)
	}
	if o.strace {
		if p, err := exec.LookPath("strace"); err == nil {
			e.strace = p
		} else {
			fmt.Fprintln(os.Stderr, "benchweb: strace not found: no system call count")
		}
	}
	build := func(out, pkg string) error {
		fmt.Fprintf(os.Stderr, "benchweb: go build %s\n", pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
		return nil
	}
	if o.ruche == "" {
		o.ruche = filepath.Join(o.work, "ruche")
		if err := build(o.ruche, "./cmd/ruche"); err != nil {
			return nil, err
		}
	}
	if o.stock && o.stockBin == "" {
		o.stockBin = filepath.Join(o.work, "stockcaddy")
		if err := build(o.stockBin, "./cmd/benchweb/stockcaddy"); err != nil {
			return nil, err
		}
	}
	if p, err := filepath.Abs(o.ruche); err == nil {
		o.ruche = p
	}
	e.kinds = append(e.kinds, kind{id: "ruche", label: "`ruche up` (Caddy embedded)", bin: o.ruche,
		version: binVersion(o.ruche, "github.com/caddyserver/caddy/v2")})

	out, err := exec.CommandContext(ctx, o.caddy, "version").Output()
	if err != nil {
		return nil, fmt.Errorf("caddy version: %w", err)
	}
	v := "caddy " + strings.TrimSpace(string(out))
	if bi, err := buildinfo.ReadFile(o.caddy); err == nil {
		v += ", " + bi.GoVersion
	}
	e.kinds = append(e.kinds, kind{id: "caddy", label: "Debian `caddy`", bin: o.caddy, version: v})
	if o.stock {
		if p, err := filepath.Abs(o.stockBin); err == nil {
			o.stockBin = p
		}
		e.kinds = append(e.kinds, kind{id: "stock", label: "plain Caddy, ruche's version (stockcaddy)", bin: o.stockBin,
			version: binVersion(o.stockBin, "github.com/caddyserver/caddy/v2")})
	}

	out, _ = exec.CommandContext(ctx, o.wrk, "-v").CombinedOutput() // wrk -v exits 1
	e.wrkVersion, _, _ = strings.Cut(strings.TrimSpace(string(out)), " Copyright")
	if e.wrkVersion == "" {
		return nil, fmt.Errorf("%s -v printed nothing", o.wrk)
	}

	home := filepath.Join(o.work, "caddy-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	// The plain caddies keep nothing of this run in $HOME or /etc.
	e.caddyEnv = []string{"HOME=" + home, "XDG_DATA_HOME=" + home + "/data", "XDG_CONFIG_HOME=" + home + "/config"}
	out, err = exec.CommandContext(ctx, o.caddy, "list-modules").Output()
	if err != nil {
		return nil, fmt.Errorf("caddy list-modules: %w", err)
	}
	e.knownHandlers = map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimSpace(l), "http.handlers."); ok {
			e.knownHandlers[h] = true
		}
	}
	return e, nil
}

// binVersion is "caddy vX, goY" from a Go binary's build information.
func binVersion(path, module string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	v := "caddy ?"
	for _, d := range bi.Deps {
		if d.Path == module {
			v = "caddy " + d.Version
			if d.Replace != nil {
				v += " => " + d.Replace.Version
			}
		}
	}
	return v + ", " + bi.GoVersion
}

// setup is one rendered pack, ready for every server.
type setup struct {
	sites      int
	dir        string
	root, pack string
	rendered   []byte   // the configuration ruche rendered
	caddyJSON  string   // the configuration the plain caddies run
	diffs      []string // how it differs from the rendered one
	targets    []target // the URLs of the load
	script     string   // wrk's Lua script requesting them
}

// prepare renders a pack of n sites with the real binary and derives the
// configuration of the plain caddies from what it rendered.
func prepare(ctx context.Context, o *options, e *env, n int) (*setup, error) {
	dir := filepath.Join(o.work, fmt.Sprintf("sites-%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &setup{sites: n, dir: dir, root: filepath.Join(dir, "root"), pack: filepath.Join(dir, "pack.yaml"),
		script: filepath.Join(dir, "urls.lua")}
	if err := os.WriteFile(s.pack, packgen.Sites(n, o.pages), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "benchweb: ruche apply, %d sites\n", n)
	apply := exec.CommandContext(ctx, o.ruche, "apply", "--lang", "en", "--root", s.root, s.pack)
	if out, err := apply.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ruche apply (%d sites): %w\n%s", n, err, tailBytes(out, 20))
	}
	rendered, err := os.ReadFile(filepath.Join(s.root, "var/lib/ruche/caddy/caddy.json"))
	if err != nil {
		return nil, err
	}
	// The listen address is a placeholder: each start gets a free port.
	cfg, diffs, err := caddyConfig(rendered, listenPlaceholder, filepath.Join(dir, "caddy-storage"), e.knownHandlers)
	if err != nil {
		return nil, err
	}
	s.rendered, s.caddyJSON, s.diffs = rendered, filepath.Join(dir, "caddy.json"), diffs
	if err := os.WriteFile(s.caddyJSON, cfg, 0o644); err != nil {
		return nil, err
	}
	for _, k := range e.kinds {
		if k.id == "ruche" {
			continue
		}
		validate := exec.CommandContext(ctx, k.bin, "validate", "--config", s.caddyJSON)
		validate.Env = append(os.Environ(), e.caddyEnv...)
		if out, err := validate.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s (%s) refuses the configuration derived from Ruche's (%s): %w\n%s\n(teach cmd/benchweb/config.go the difference)",
				k.label, k.version, s.caddyJSON, err, tailBytes(out, 10))
		}
	}
	s.targets = targets(n, o.urlSites, o.pages)
	if err := writeScript(s.script, s.targets); err != nil {
		return nil, err
	}
	return s, nil
}

const listenPlaceholder = "127.0.0.1:0"

// targets are pages of k sites spread evenly over the n sites of the pack,
// first and last included (Caddy tries the site routes in order), reached
// by their pack domain.
func targets(n, k, pages int) []target {
	k = max(1, min(k, n))
	var ts []target
	seen := map[int]bool{}
	for i := 0; i < k; i++ {
		idx := 1
		if k > 1 {
			idx = 1 + (i*(n-1)+(k-1)/2)/(k-1)
		}
		if seen[idx] {
			continue
		}
		seen[idx] = true
		host := fmt.Sprintf("site-%04d.example.org", idx)
		for p := 0; p < pages; p++ {
			path := "/"
			if p > 0 {
				path = fmt.Sprintf("/page-%d/", p)
			}
			ts = append(ts, target{host, path})
		}
	}
	return ts
}

// start starts server k on s, pinned, and waits until it serves the last
// target (the last site route).
func start(ctx context.Context, o *options, e *env, s *setup, k kind) (*server, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	begin := time.Now()
	var srv *server
	if k.id == "ruche" {
		smtp, err := freeAddr()
		if err != nil {
			return nil, 0, err
		}
		srv, err = startServer(k.id, addr, o.serverCPU, filepath.Join(s.dir, "ruche-up.log"), nil,
			k.bin, "up", "--lang", "en", "--root", s.root, "--http", addr, "--smtp", smtp, s.pack)
		if err != nil {
			return nil, 0, err
		}
	} else {
		cfg, err := os.ReadFile(s.caddyJSON)
		if err != nil {
			return nil, 0, err
		}
		path := filepath.Join(s.dir, k.id+"-run.json")
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(cfg), strconv.Quote(listenPlaceholder), strconv.Quote(addr))), 0o644); err != nil {
			return nil, 0, err
		}
		srv, err = startServer(k.id, addr, o.serverCPU, filepath.Join(s.dir, k.id+"-run.log"), e.caddyEnv,
			k.bin, "run", "--config", path)
		if err != nil {
			return nil, 0, err
		}
	}
	t := s.targets[len(s.targets)-1]
	if err := srv.waitReady(ctx, t.Host, t.Path, 2*time.Minute); err != nil {
		return nil, 0, err
	}
	ready := time.Since(begin)
	st, err := readStatus(srv.pid())
	if err != nil {
		return nil, 0, err
	}
	// /proc's Name is cut to 15 bytes.
	if base := filepath.Base(k.bin); !strings.HasPrefix(base, st.Name) {
		return nil, 0, fmt.Errorf("pid %d is %q, not %s: taskset did not exec it?", srv.pid(), st.Name, base)
	}
	if st.CPUs != o.serverCPU {
		return nil, 0, fmt.Errorf("%s runs on CPUs %s, not %s", k.id, st.CPUs, o.serverCPU)
	}
	return srv, ready, nil
}

func (o *options) load(s *setup, connections int) loadSpec {
	return loadSpec{wrk: o.wrk, cpu: o.loadCPU, threads: o.threads, connections: connections, script: s.script}
}

// memRow is the memory of one server for one pack size.
type memRow struct {
	kind         kind
	sites, urls  int
	ready        time.Duration
	idle, loaded procStatus
	load         wrkResult
	heapInuse    int64 // ruche only: go_memstats_heap_inuse_bytes at idle
	sitesBytes   int64 // size of the rendered site files
}

func measureMemory(ctx context.Context, o *options, e *env, n int, raw *rawLog) ([]memRow, error) {
	fmt.Fprintf(os.Stderr, "benchweb: memory, %d sites\n", n)
	s, err := prepare(ctx, o, e, n)
	if err != nil {
		return nil, err
	}
	load := o.load(s, o.connections)
	var rows []memRow
	for _, k := range e.kinds {
		srv, ready, err := start(ctx, o, e, s, k)
		if err != nil {
			return nil, err
		}
		row := memRow{kind: k, sites: n, urls: len(s.targets), ready: ready}
		if err := sleep(ctx, o.settle); err != nil {
			return nil, err
		}
		if row.idle, err = readStatus(srv.pid()); err != nil {
			return nil, err
		}
		if k.id == "ruche" {
			row.heapInuse = metric(ctx, srv.addr, "go_memstats_heap_inuse_bytes")
			row.sitesBytes = treeSize(filepath.Join(s.root, "var/lib/ruche/sites"))
		}
		res, out, err := load.run(ctx, srv.addr, o.memLoad)
		raw.printf("== memory %d sites, %s, load: %s\n%s\n", n, k.id, strings.Join(load.args(srv.addr, o.memLoad), " "), out)
		if err != nil {
			return nil, err
		}
		if res.errors() > 0 {
			return nil, fmt.Errorf("%s, %d sites: %d failed requests under load", k.id, n, res.errors())
		}
		row.load = res
		if row.loaded, err = readStatus(srv.pid()); err != nil {
			return nil, err
		}
		raw.printf("%s %d sites: ready in %v; idle VmRSS %d kB VmHWM %d kB; after load VmRSS %d kB VmHWM %d kB, threads %d\n\n",
			k.id, n, ready.Round(time.Millisecond), row.idle.RSSKiB, row.idle.HWMKiB, row.loaded.RSSKiB, row.loaded.HWMKiB, row.loaded.ThreadsNum)
		fmt.Fprintf(os.Stderr, "benchweb: %-5s %3d sites: VmRSS idle %s, after load %s\n", k.id, n, mib(row.idle.RSSKiB), mib(row.loaded.RSSKiB))
		if err := srv.stop(15 * time.Second); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// throughput is the result of the alternated runs.
type throughput struct {
	setup       *setup
	load        loadSpec
	results     map[string][]wrkResult // by kind id, in run order
	compared    int
	headerDiffs map[string][]string // by kind id compared with ruche
	syscalls    map[string]syscallCount
	kernel      map[string][]float64 // share of the server's CPU time spent in the kernel, per run
}

func measureThroughput(ctx context.Context, o *options, e *env, raw *rawLog) (*throughput, error) {
	fmt.Fprintf(os.Stderr, "benchweb: throughput, %d sites, %d runs of %v per server\n", o.sites, o.runs, o.duration)
	s, err := prepare(ctx, o, e, o.sites)
	if err != nil {
		return nil, err
	}
	tp := &throughput{setup: s, load: o.load(s, o.connections), results: map[string][]wrkResult{},
		headerDiffs: map[string][]string{}, syscalls: map[string]syscallCount{}, kernel: map[string][]float64{}}
	servers := map[string]*server{}
	defer func() {
		for _, srv := range servers {
			srv.stop(15 * time.Second)
		}
	}()
	for _, k := range e.kinds {
		srv, _, err := start(ctx, o, e, s, k)
		if err != nil {
			return nil, err
		}
		servers[k.id] = srv
	}

	for _, k := range e.kinds[1:] {
		n, diffs, err := compare(ctx, servers["ruche"].addr, servers[k.id].addr, k.id, s.targets)
		if err != nil {
			return nil, err
		}
		tp.compared, tp.headerDiffs[k.id] = n, diffs
		raw.printf("== throughput, %d sites: %d URLs identical on ruche and %s\n", o.sites, n, k.id)
		for _, d := range diffs {
			raw.printf("header difference with %s: %s\n", k.id, d)
		}
	}

	order := slices.Clone(e.kinds)
	if o.warmup > 0 {
		for _, k := range order {
			if _, out, err := tp.load.run(ctx, servers[k.id].addr, o.warmup); err != nil {
				return nil, fmt.Errorf("warm-up of %s: %w\n%s", k.id, err, out)
			}
		}
	}
	for i := 0; i < o.runs; i++ {
		for _, k := range order {
			srv := servers[k.id]
			u0, s0, err := cpuTicks(srv.pid())
			if err != nil {
				return nil, err
			}
			res, out, err := tp.load.run(ctx, srv.addr, o.duration)
			if u1, s1, cerr := cpuTicks(srv.pid()); cerr == nil && u1+s1 > u0+s0 {
				tp.kernel[k.id] = append(tp.kernel[k.id], float64(s1-s0)/float64(u1+s1-u0-s0))
			}
			raw.printf("== run %d, %s: %s\n%s\n", i+1, k.id, strings.Join(tp.load.args(srv.addr, o.duration), " "), out)
			if err != nil {
				return nil, err
			}
			if res.errors() > 0 {
				return nil, fmt.Errorf("run %d, %s: %d failed requests (connect %d, read %d, write %d, status %d, timeout %d)",
					i+1, k.id, res.errors(), res.Connect, res.Read, res.Write, res.Status, res.Timeout)
			}
			if srv.exited() {
				return nil, fmt.Errorf("%s exited during the load: %v\n%s", k.id, srv.waitErr, tail(srv.log.Name(), 20))
			}
			fmt.Fprintf(os.Stderr, "benchweb: run %d %-5s %9.0f req/s  p99 %s\n", i+1, k.id, res.rps(), usec(res.P99US))
			tp.results[k.id] = append(tp.results[k.id], res)
		}
		// Rotate who goes first, so that no server always runs right
		// after the same other one.
		order = append(order[1:], order[0])
	}

	if e.strace != "" {
		for _, k := range e.kinds {
			c, err := countSyscalls(ctx, e.strace, servers[k.id], o.load(s, 8), filepath.Join(s.dir, k.id+".strace"))
			if err != nil {
				return nil, err
			}
			tp.syscalls[k.id] = c
			raw.printf("== system calls of %s under strace, %d requests:\n%s\n", k.id, c.requests, c.table)
		}
	}
	return tp, nil
}

// compare checks that two servers answer every target 200 with the same
// body, and a missing page and an unknown host with the same 404. It
// returns how many URLs it compared, and the response headers that differ.
func compare(ctx context.Context, a, b, bName string, ts []target) (int, []string, error) {
	type check struct {
		target
		status int
	}
	var checks []check
	for _, t := range ts {
		checks = append(checks, check{t, 200})
	}
	checks = append(checks,
		check{target{ts[0].Host, "/no-such-page/"}, 404},
		check{target{"unknown.example", "/"}, 404})
	diffs := map[string]string{}
	for _, c := range checks {
		ca, ha, ba, err := fetch(ctx, a, c.Host, c.Path)
		if err != nil {
			return 0, nil, fmt.Errorf("ruche, http://%s%s: %w", c.Host, c.Path, err)
		}
		cb, hb, bb, err := fetch(ctx, b, c.Host, c.Path)
		if err != nil {
			return 0, nil, fmt.Errorf("%s, http://%s%s: %w", bName, c.Host, c.Path, err)
		}
		if ca != c.status || cb != c.status {
			return 0, nil, fmt.Errorf("http://%s%s: ruche answers %d, %s %d, want %d", c.Host, c.Path, ca, bName, cb, c.status)
		}
		if string(ba) != string(bb) {
			return 0, nil, fmt.Errorf("http://%s%s: the bodies differ (ruche %d bytes, %s %d): the servers do not serve the same files",
				c.Host, c.Path, len(ba), bName, len(bb))
		}
		if c.status == 200 && len(ba) == 0 {
			return 0, nil, fmt.Errorf("http://%s%s: empty body", c.Host, c.Path)
		}
		names := map[string]bool{}
		for k := range ha {
			names[k] = true
		}
		for k := range hb {
			names[k] = true
		}
		for k := range names {
			if k == "Date" {
				continue
			}
			va, vb := strings.Join(ha.Values(k), ", "), strings.Join(hb.Values(k), ", ")
			if va != vb {
				diffs[k] = fmt.Sprintf("`%s`: ruche %s, %s %s", k, quoteOrNone(va), bName, quoteOrNone(vb))
			}
		}
	}
	var out []string
	for _, d := range diffs {
		out = append(out, d)
	}
	sort.Strings(out)
	return len(checks), out, nil
}

// metric reads one gauge of ruche's /metrics (panel host; 0 when absent).
func metric(ctx context.Context, addr, name string) int64 {
	code, _, body, err := fetch(ctx, addr, "panel.localhost", "/metrics")
	if err != nil || code != 200 {
		return 0
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return int64(f)
			}
		}
	}
	return 0
}

// treeSize is the total size of the regular files under dir.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func quoteOrNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return "`" + v + "`"
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// machine describes the CPU, cores, memory, OS and kernel.
func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kib, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mem = fmt.Sprintf(", %.0f GiB", kib/(1<<20))
			}
		}
	}
	osName := runtime.GOOS
	if data, err := os.ReadFile("/etc/debian_version"); err == nil {
		osName = "Debian " + strings.TrimSpace(string(data))
	}
	kernel := ""
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%s (%d cores%s, %s/%s, %s%s)", cpu, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, osName, kernel)
}

// loadavg is the first three fields of /proc/loadavg: other work on the
// machine disturbs the figures.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func tailBytes(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type rawLog struct{ strings.Builder }

func (r *rawLog) printf(format string, a ...any) { fmt.Fprintf(&r.Builder, format, a...) }
