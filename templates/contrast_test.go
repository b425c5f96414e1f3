package templates

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestContrast checks every text/background pair site.css uses against
// WCAG 2.1 AA (4.5:1 for text), for each template's accent, in light and
// dark mode: page text, muted text (taglines, dates, footer) and links on
// the page and on boxes, and the text of buttons and of the current
// navigation entry on the accent.
func TestContrast(t *testing.T) {
	dark := strings.Index(css, "@media (prefers-color-scheme:dark){")
	if dark < 0 {
		t.Fatal("site.css has no dark palette")
	}
	end := dark + strings.Index(css[dark:], "\n}\n")
	for mode, block := range map[string]string{"light": css[:dark], "dark": css[dark:end]} {
		base := palette(block, ":root")
		for _, tpl := range Names() {
			p := map[string]string{}
			for k, v := range base {
				p[k] = v
			}
			for k, v := range palette(block, ".t-"+tpl) {
				p[k] = v
			}
			for _, pair := range [][2]string{
				{"fg", "bg"}, {"fg", "surface"},
				{"muted", "bg"}, {"muted", "surface"},
				{"accent", "bg"}, {"accent", "surface"},
				{"on-accent", "accent"},
			} {
				fg, bg := p[pair[0]], p[pair[1]]
				if fg == "" || bg == "" {
					t.Fatalf("%s %s: no --%s or --%s in site.css", mode, tpl, pair[0], pair[1])
				}
				if r := contrast(t, fg, bg); r < 4.5 {
					t.Errorf("%s %s: --%s %s on --%s %s has contrast %.2f, want 4.5 at least", mode, tpl, pair[0], fg, pair[1], bg, r)
				}
			}
		}
	}
}

var reRule = regexp.MustCompile(`(?m)^([:.\w-]+)\{([^}]*)\}`)

// palette returns the custom properties a rule of block sets ("--accent:
// #1d5c8f" as accent → #1d5c8f).
func palette(block, selector string) map[string]string {
	out := map[string]string{}
	for _, m := range reRule.FindAllStringSubmatch(block, -1) {
		if m[1] != selector {
			continue
		}
		for _, decl := range strings.Split(m[2], ";") {
			k, v, ok := strings.Cut(decl, ":")
			if name, custom := strings.CutPrefix(k, "--"); ok && custom {
				out[name] = v
			}
		}
	}
	return out
}

// contrast is WCAG's contrast ratio of two #rrggbb colours.
func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(t *testing.T, hex string) float64 {
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}

// TestContrastFormula pins the formula on known pairs.
func TestContrastFormula(t *testing.T) {
	if r := contrast(t, "#000000", "#ffffff"); math.Abs(r-21) > 0.01 {
		t.Errorf("black on white: %.2f", r)
	}
	if r := contrast(t, "#777777", "#ffffff"); math.Abs(r-4.48) > 0.01 {
		t.Errorf("#777 on white: %.2f", r)
	}
}
