package templates

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ParamKind is the form a template parameter takes in the pack. Validation
// (provision) checks a value against its kind; the renderer (services/sites)
// parses it with the functions below, so that both read a value the same
// way.
type ParamKind int

const (
	ParamText  ParamKind = iota // one line of text
	ParamLines                  // several lines, shown as written
	ParamDate                   // a day, YYYY-MM-DD
	ParamTime                   // a time of day, HH:MM
	ParamEnd                    // HH:MM, YYYY-MM-DD or "YYYY-MM-DD HH:MM"
	ParamURL                    // an http(s) URL, or a path on the site ("/uploads/form.pdf")
	ParamEmail                  // an e-mail address
	ParamPhone                  // a phone number, as people write it
	ParamLinks                  // one "Label|URL" per line
)

// Param is one parameter a template reads from a site's params.
type Param struct {
	Name string
	Kind ParamKind
}

// params are what each template reads, in the order docs/sites.md lists
// them. A name that is not here is a typo the pack is told about: a
// template silently ignoring "adress" would leave a volunteer wondering.
var params = map[string][]Param{
	"showcase": {
		{"tagline", ParamText},
		{"address", ParamLines},
		{"phone", ParamPhone},
		{"email", ParamEmail},
		{"hours", ParamLines},
		{"links", ParamLinks},
	},
	"event": {
		{"tagline", ParamText},
		{"date", ParamDate},
		{"time", ParamTime},
		{"end", ParamEnd},
		{"place", ParamLines},
		{"registration", ParamURL},
	},
	"news": {
		{"tagline", ParamText},
	},
}

// Params returns the parameters template name reads, nil for a template
// Ruche does not know.
func Params(name string) []Param {
	return append([]Param(nil), params[name]...)
}

// ParseDate reads a YYYY-MM-DD date, and only that: "2026-6-21" or a date
// with a time would be guesses.
func ParseDate(s string) (time.Time, bool) {
	if len(s) != len(time.DateOnly) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

// ParseClock reads a time of day, HH:MM or H:MM, and returns it as HH:MM.
func ParseClock(s string) (string, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return "", false
	}
	hour, err1 := strconv.Atoi(h)
	min, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || h[0] == '+' || h[0] == '-' || m[0] == '+' || m[0] == '-' ||
		hour < 0 || hour > 23 || min < 0 || min > 59 {
		return "", false
	}
	return fmt.Sprintf("%02d:%02d", hour, min), true
}

// ParseEnd reads an event's end: a time of day (the same day, or the next
// one when it is not after the start), a day, or a day and a time. Either
// part may be empty; ok is false when the text is none of the three.
func ParseEnd(s string) (date, clock string, ok bool) {
	s = strings.TrimSpace(s)
	if d, c, two := strings.Cut(s, " "); two {
		c = strings.TrimSpace(c)
		if _, okd := ParseDate(d); okd {
			if c, okc := ParseClock(c); okc {
				return d, c, true
			}
		}
		return "", "", false
	}
	if _, okd := ParseDate(s); okd {
		return s, "", true
	}
	if c, okc := ParseClock(s); okc {
		return "", c, true
	}
	return "", "", false
}

// SafeURL reports whether s may be a link of a site: an absolute http or
// https URL with a host, or a path on the site itself ("/uploads/x.pdf",
// not "//elsewhere"). Anything else (javascript:, data:, a bare word) is
// refused rather than escaped into a dead link.
func SafeURL(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	if strings.HasPrefix(s, "/") {
		return !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, `/\`)
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// ParseLinks reads "Label|URL" lines; blank lines are skipped. bad is the
// 1-based number of the first line that is not a label, a bar and a safe
// URL (0 when all are).
func ParseLinks(s string) (links []Link, bad int) {
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		label, u, ok := strings.Cut(line, "|")
		label, u = strings.TrimSpace(label), strings.TrimSpace(u)
		if !ok || label == "" || !SafeURL(u) {
			if bad == 0 {
				bad = i + 1
			}
			continue
		}
		links = append(links, Link{Title: label, Path: u})
	}
	return links, bad
}

// PhoneURI turns a phone number as written ("01 23 45 67 89",
// "+33 (0)1 23 45 67 89") into a tel: URI phones can dial, or ok false
// when the text is not a phone number: digits, spaces, dots, dashes,
// brackets and a leading +, with 3 to 15 digits (E.164's longest).
func PhoneURI(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") {
		// "+33 (0)1…": the bracketed 0 is not dialled after a country code.
		s = strings.Replace(s, "(0)", "", 1)
	}
	var b strings.Builder
	b.WriteString("tel:")
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", false
		}
	}
	if digits < 3 || digits > 15 {
		return "", false
	}
	return b.String(), true
}

// Lines splits a multi-line parameter into its non-empty lines, trimmed.
func Lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
