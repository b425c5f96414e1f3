package calendar

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The golden file holds, for each expression, what systemd-analyze says of
// it: invalid, or its normalized form and next elapses from goldenBase.
// To add a case, add an `expr "..."` line and run
//
//	go test ./provision/calendar -run TestGolden -update
//
// which reruns systemd-analyze on every expression of the file.
var update = flag.Bool("update", false, "rewrite testdata/golden.txt from systemd-analyze")

const (
	goldenFile       = "testdata/golden.txt"
	goldenIterations = 3
	analyzeBinary    = "systemd-analyze"
	elapseLayout     = "Mon 2006-01-02 15:04:05 MST" // systemd's format_timestamp
)

// goldenBase is the fixed base time: a leap year, near the end of February.
var goldenBase = time.Date(2024, time.February, 27, 10, 20, 30, 0, time.UTC)

// verdict is what systemd-analyze calendar (or the parser) says about one
// expression.
type verdict struct {
	invalid    bool
	normalized string
	elapses    []string // formatted with elapseLayout; ["never"] when none
}

func (v verdict) String() string {
	if v.invalid {
		return "invalid"
	}
	return fmt.Sprintf("%s | %s", v.normalized, strings.Join(v.elapses, " | "))
}

// ours is the parser's verdict, in the shape systemd-analyze prints it:
// elapses at whole seconds, each one from the previous.
func ours(expr string, base time.Time, iterations int) verdict {
	s, err := Parse(expr)
	if err != nil {
		return verdict{invalid: true}
	}
	v := verdict{normalized: s.String()}
	for t := base; len(v.elapses) < iterations; {
		next := s.Next(t)
		if next.IsZero() {
			if len(v.elapses) == 0 {
				v.elapses = []string{"never"}
			}
			break
		}
		v.elapses = append(v.elapses, next.Format(elapseLayout))
		t = next
	}
	return v
}

// lookAnalyzer returns the path of systemd-analyze. Without it the live
// tests skip, except in CI (CI=true) or with -update, where they fail.
func lookAnalyzer(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath(analyzeBinary)
	if err != nil {
		if os.Getenv("CI") == "true" || *update {
			t.Fatalf("%s is required in CI and for -update (Debian package systemd): %v", analyzeBinary, err)
		}
		t.Skipf("%s not found: %v", analyzeBinary, err)
	}
	return path
}

// analyze runs `systemd-analyze calendar` on expr, with the process in
// timezone tz.
func analyze(path, expr string, base time.Time, tz string, iterations int) (verdict, error) {
	cmd := exec.Command(path, "calendar",
		"--iterations="+strconv.Itoa(iterations),
		"--base-time="+base.UTC().Format("2006-01-02 15:04:05 UTC"),
		"--", expr)
	cmd.Env = []string{"TZ=" + tz, "LC_ALL=C", "SYSTEMD_COLORS=0", "PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "Failed to parse calendar specification") {
			return verdict{invalid: true}, nil
		}
		return verdict{}, fmt.Errorf("%s calendar %q: %w: %s", path, expr, err, strings.TrimSpace(stderr.String()))
	}
	var v verdict
	for line := range strings.Lines(stdout.String()) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), ": ")
		switch {
		case key == "Normalized form":
			v.normalized = value
		case key == "Next elapse" || strings.HasPrefix(key, "Iter. #"):
			v.elapses = append(v.elapses, value)
		}
	}
	if v.normalized == "" || len(v.elapses) == 0 {
		return verdict{}, fmt.Errorf("%s calendar %q: unexpected output:\n%s", path, expr, stdout.String())
	}
	return v, nil
}

type goldenCase struct {
	expr string
	want verdict
}

// readGolden reads the golden file: blocks of
//
//	expr "EXPRESSION"
//	norm NORMALIZED FORM   (or: invalid)
//	next ELAPSE            (up to goldenIterations times, or: next never)
func readGolden(t *testing.T) []goldenCase {
	t.Helper()
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		key, value, _ := strings.Cut(line, " ")
		var c *goldenCase
		if len(cases) > 0 {
			c = &cases[len(cases)-1]
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case key == "expr":
			expr, err := strconv.Unquote(value)
			if err != nil {
				t.Fatalf("%s:%d: expression must be a quoted Go string: %v", goldenFile, n, err)
			}
			cases = append(cases, goldenCase{expr: expr})
		case c == nil:
			t.Fatalf("%s:%d: %q before the first expr line", goldenFile, n, line)
		case line == "invalid":
			c.want.invalid = true
		case key == "norm":
			c.want.normalized = value
		case key == "next":
			c.want.elapses = append(c.want.elapses, value)
		default:
			t.Fatalf("%s:%d: unexpected line %q", goldenFile, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func writeGolden(t *testing.T, version string, cases []goldenCase) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# What `systemd-analyze calendar` says of each expression: invalid, or its\n")
	fmt.Fprintf(&b, "# normalized form and next %d elapses from a fixed base time.\n", goldenIterations)
	fmt.Fprintf(&b, "# Generated by: go test ./provision/calendar -run TestGolden -update\n")
	fmt.Fprintf(&b, "# To add a case, add an expr line (a quoted Go string) and regenerate.\n")
	fmt.Fprintf(&b, "# %s\n", version)
	fmt.Fprintf(&b, "# base %s, TZ=UTC\n", goldenBase.Format("2006-01-02 15:04:05 MST"))
	for _, c := range cases {
		fmt.Fprintf(&b, "\nexpr %s\n", strconv.Quote(c.expr))
		if c.want.invalid {
			b.WriteString("invalid\n")
			continue
		}
		fmt.Fprintf(&b, "norm %s\n", c.want.normalized)
		for _, e := range c.want.elapses {
			fmt.Fprintf(&b, "next %s\n", e)
		}
	}
	if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGolden checks the parser against the results of systemd-analyze
// recorded in the golden file.
func TestGolden(t *testing.T) {
	cases := readGolden(t)
	if *update {
		path := lookAnalyzer(t)
		out, err := exec.Command(path, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", path, err)
		}
		version, _, _ := strings.Cut(string(out), "\n")
		for i := range cases {
			if cases[i].want, err = analyze(path, cases[i].expr, goldenBase, "UTC", goldenIterations); err != nil {
				t.Fatal(err)
			}
		}
		writeGolden(t, version, cases)
	}
	if len(cases) < 40 {
		t.Errorf("%s holds %d expressions, want at least 40", goldenFile, len(cases))
	}
	for _, c := range cases {
		if got := ours(c.expr, goldenBase, goldenIterations); !equal(got, c.want) {
			t.Errorf("%q:\n got  %v\n want %v", c.expr, got, c.want)
		}
	}
}

func equal(a, b verdict) bool {
	return a.invalid == b.invalid && a.normalized == b.normalized && slices.Equal(a.elapses, b.elapses)
}

// TestSystemdAnalyzeLive runs the real systemd-analyze on the golden
// expressions, and on daylight saving transitions, and compares with the
// parser.
func TestSystemdAnalyzeLive(t *testing.T) {
	path := lookAnalyzer(t)
	check := func(t *testing.T, expr string, base time.Time, tz string) {
		t.Helper()
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		want, err := analyze(path, expr, base, tz, goldenIterations)
		if err != nil {
			t.Fatal(err)
		}
		if got := ours(expr, base.In(loc), goldenIterations); !equal(got, want) {
			t.Errorf("%q from %s, TZ=%s:\n got  %v\n want %v", expr, base.Format(time.RFC3339), tz, got, want)
		}
	}

	t.Run("golden", func(t *testing.T) {
		for _, c := range readGolden(t) {
			check(t, c.expr, goldenBase, "UTC")
		}
	})

	// Around the 2024 transitions of zones moving by an hour at 02:00 or
	// 03:00 local time, and by half an hour (Lord Howe Island).
	t.Run("dst", func(t *testing.T) {
		transitions := map[string][]string{
			"Europe/Paris":        {"2024-03-31T01:00:00Z", "2024-10-27T01:00:00Z"},
			"America/New_York":    {"2024-03-10T07:00:00Z", "2024-11-03T06:00:00Z"},
			"Australia/Lord_Howe": {"2024-04-06T15:00:00Z", "2024-10-05T15:30:00Z"},
		}
		exprs := []string{
			"*-*-* 02:30", "*-*-* 01:30", "*-*-* 03:00", "*-*-* 02,03:00", "*-*-* 01..03:*:00",
			"*:30", "*:0/20", "*:*:00", "*-*-* 01:19/32:24", "Sun *-*-* 02:00", "*-*-* 02:30 Europe/Paris",
		}
		for _, tz := range []string{"Europe/Paris", "America/New_York", "Australia/Lord_Howe"} {
			for _, at := range transitions[tz] {
				transition, err := time.Parse(time.RFC3339, at)
				if err != nil {
					t.Fatal(err)
				}
				for _, offset := range []time.Duration{-26 * time.Hour, -90 * time.Minute, -5 * time.Minute, 10 * time.Minute, 50 * time.Minute} {
					for _, expr := range exprs {
						check(t, expr, transition.Add(offset), tz)
					}
				}
			}
		}
	})
}

// TestAnalyzeOutput checks that the reader of systemd-analyze's output
// understands its three outcomes, without running it.
func TestAnalyzeOutput(t *testing.T) {
	// A stand-in systemd-analyze: a shell script printing what the real one
	// prints.
	dir := t.TempDir()
	script := dir + "/systemd-analyze"
	body := `#!/bin/sh
for last; do :; done
case "$last" in
never) printf '  Original form: never\nNormalized form: 2020-01-01 00:00:00\n    Next elapse: never\n' ;;
bad) echo "Failed to parse calendar specification 'bad': Invalid argument" >&2; exit 1 ;;
broken) echo "Failed to determine next elapse for 'broken': Resource deadlock avoided" >&2; exit 1 ;;
*) printf 'Normalized form: *-*-* 02:30:00\n    Next elapse: Wed 2024-02-28 02:30:00 UTC\n       From now: 1 year ago\n       Iter. #2: Thu 2024-02-29 02:30:00 UTC\n' ;;
esac
`
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]verdict{
		"never": {normalized: "2020-01-01 00:00:00", elapses: []string{"never"}},
		"bad":   {invalid: true},
		"*-*-* 02:30": {normalized: "*-*-* 02:30:00",
			elapses: []string{"Wed 2024-02-28 02:30:00 UTC", "Thu 2024-02-29 02:30:00 UTC"}},
	} {
		got, err := analyze(script, expr, goldenBase, "UTC", 2)
		if err != nil || !equal(got, want) {
			t.Errorf("analyze %q = %v, %v; want %v", expr, got, err, want)
		}
	}
	var exitErr *exec.ExitError
	if _, err := analyze(script, "broken", goldenBase, "UTC", 2); !errors.As(err, &exitErr) {
		t.Errorf("analyze broken: got error %v, want the command's failure", err)
	}
}
