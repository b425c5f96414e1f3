// Command benchdoc turns `go test -bench` output into a Markdown table and
// writes it into one section of docs/benchmarks.md, between the markers
// <!-- bench:NAME --> and <!-- /bench:NAME -->, leaving the rest of the
// document (prose, other sections) alone. Each figure is the median of the
// runs (-count).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchmd"
)

type sample struct{ nsOp, bOp, allocsOp []float64 }

func main() {
	in := flag.String("in", "", "go test -bench output")
	out := flag.String("out", "docs/benchmarks.md", "Markdown file to update")
	section := flag.String("section", "", "section name (marker)")
	title := flag.String("title", "", "section title")
	command := flag.String("command", "", "the command that produced the figures")
	var ratios []string
	flag.Func("ratio", "A/B: also print the ratio of the median times of benchmarks A and B (repeatable)", func(v string) error {
		ratios = append(ratios, v)
		return nil
	})
	note := flag.String("note", "", "a sentence printed under the table")
	flag.Parse()
	data, err := os.ReadFile(*in)
	if err != nil {
		fail(err)
	}
	samples, order := parse(data)
	if len(order) == 0 {
		fail(fmt.Errorf("%s: no benchmark lines", *in))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- bench:%s -->\n## %s\n\n", *section, *title)
	fmt.Fprintf(&b, "Measured %s on %s (%d cores, %s/%s, %s) with:\n\n    %s\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), *command)
	b.WriteString("| benchmark | runs | time (median) | memory allocated | allocations |\n|---|---|---|---|---|\n")
	for _, name := range order {
		s := samples[name]
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", name, len(s.nsOp),
			duration(benchmd.Median(s.nsOp)), bytesHuman(benchmd.Median(s.bOp)), strconv.FormatFloat(benchmd.Median(s.allocsOp), 'f', 0, 64))
	}
	for _, r := range ratios {
		a, c, _ := strings.Cut(r, "/")
		sa, sc := samples[a], samples[c]
		if sa == nil || sc == nil || benchmd.Median(sc.nsOp) == 0 {
			fail(fmt.Errorf("-ratio %s: no such benchmarks in %s", r, *in))
		}
		fmt.Fprintf(&b, "\nRatio %s / %s (median times): **%.2f**\n", a, c, benchmd.Median(sa.nsOp)/benchmd.Median(sc.nsOp))
	}
	if *note != "" {
		fmt.Fprintf(&b, "\n%s\n", *note)
	}
	fmt.Fprintf(&b, "<!-- /bench:%s -->\n", *section)
	if err := benchmd.ReplaceSection(*out, *section, b.String()); err != nil {
		fail(err)
	}
}

func parse(data []byte) (map[string]*sample, []string) {
	samples := map[string]*sample{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		s := samples[name]
		if s == nil {
			s = &sample{}
			samples[name] = s
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.nsOp = append(s.nsOp, v)
			case "B/op":
				s.bOp = append(s.bOp, v)
			case "allocs/op":
				s.allocsOp = append(s.allocsOp, v)
			}
		}
	}
	return samples, order
}

func duration(ns float64) string {
	return time.Duration(ns).Round(10 * time.Microsecond).String()
}

func bytesHuman(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func cpuModel() string {
	out, err := exec.Command("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "unknown CPU"
	}
	return strings.TrimSpace(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchdoc:", err)
	os.Exit(1)
}
