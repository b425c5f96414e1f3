// Package benchmd writes benchmark sections into docs/benchmarks.md: each
// tool (cmd/benchdoc, cmd/benchweb) owns sections between the markers
// <!-- bench:NAME --> and <!-- /bench:NAME -->, and leaves the rest of the
// document (prose, other sections) alone.
package benchmd

import (
	"os"
	"sort"
	"strings"
)

// ReplaceSection swaps the marked section NAME of the file for section
// (which carries its own markers), or appends it when the file has none.
func ReplaceSection(path, name, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(old)
	begin, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->\n"
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i >= 0 && j > i {
		text = text[:i] + section + text[j+len(end):]
	} else {
		if text != "" && !strings.HasSuffix(text, "\n\n") {
			text += "\n"
		}
		text += section
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Median is the median of v (0 for none).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
