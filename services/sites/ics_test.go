package sites

import (
	"path"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/templates"
)

// icsLine is one unfolded content line: NAME;PARAM=x:VALUE.
type icsLine struct {
	name, params, value string
}

// parseICS checks the physical form of an iCalendar file as RFC 5545
// section 3.1 states it (CRLF after every line, no line over 75 octets,
// continuation lines starting with a space, UTF-8) and returns its
// unfolded content lines.
func parseICS(t *testing.T, file string, data []byte) []icsLine {
	t.Helper()
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("%s: does not end with CRLF", file)
	}
	var logical []string
	for i, phys := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if strings.ContainsAny(phys, "\r\n") {
			t.Fatalf("%s: line %d has a bare CR or LF: %q", file, i+1, phys)
		}
		if len(phys) > 75 {
			t.Errorf("%s: line %d is %d octets, over 75: %q", file, i+1, len(phys), phys)
		}
		if strings.HasPrefix(phys, " ") {
			if len(logical) == 0 {
				t.Fatalf("%s: starts with a continuation line", file)
			}
			logical[len(logical)-1] += phys[1:]
			continue
		}
		logical = append(logical, phys)
	}
	var out []icsLine
	for _, l := range logical {
		if !utf8.ValidString(l) {
			t.Errorf("%s: a fold split a UTF-8 sequence: %q", file, l)
		}
		// The name and parameters end at the first colon outside quotes.
		colon, quoted := -1, false
		for i, r := range l {
			if r == '"' {
				quoted = !quoted
			}
			if r == ':' && !quoted {
				colon = i
				break
			}
		}
		if colon < 0 {
			t.Fatalf("%s: no colon in %q", file, l)
		}
		name, params, _ := strings.Cut(l[:colon], ";")
		if !regexp.MustCompile(`^[A-Z][A-Z0-9-]*$`).MatchString(name) {
			t.Errorf("%s: bad property name in %q", file, l)
		}
		out = append(out, icsLine{name, params, l[colon+1:]})
	}
	return out
}

// TestCalendarFiles checks every .ics of the test packs: its lines, its
// components properly nested, the properties RFC 5545 requires, a
// VTIMEZONE for every TZID, and DTSTART before DTEND.
func TestCalendarFiles(t *testing.T) {
	n := 0
	for _, name := range testPacks {
		for file, content := range siteFiles(render(t, loadPack(t, "testdata/"+name+".yaml"))) {
			if path.Ext(file) != ".ics" {
				continue
			}
			n++
			lines := parseICS(t, file, content)
			var stack []string
			props := map[string]map[string]icsLine{} // component -> name -> line
			tzids, zones := map[string]bool{}, map[string]bool{}
			for _, l := range lines {
				switch l.name {
				case "BEGIN":
					stack = append(stack, l.value)
					if props[l.value] == nil {
						props[l.value] = map[string]icsLine{}
					}
					continue
				case "END":
					if len(stack) == 0 || stack[len(stack)-1] != l.value {
						t.Fatalf("%s: END:%s does not close %v", file, l.value, stack)
					}
					stack = stack[:len(stack)-1]
					continue
				}
				if len(stack) == 0 {
					t.Fatalf("%s: %s outside any component", file, l.name)
				}
				props[stack[len(stack)-1]][l.name] = l
				if tz, ok := strings.CutPrefix(l.params, "TZID="); ok {
					tzids[tz] = true
				}
				if l.name == "TZID" {
					zones[l.value] = true
				}
			}
			if len(stack) != 0 || lines[0].value != "VCALENDAR" {
				t.Fatalf("%s: components %v left open, or not one VCALENDAR", file, stack)
			}
			for comp, names := range map[string][]string{
				"VCALENDAR": {"VERSION", "PRODID"},
				"VEVENT":    {"UID", "DTSTAMP", "DTSTART", "SUMMARY", "URL"},
			} {
				for _, want := range names {
					if _, ok := props[comp][want]; !ok {
						t.Errorf("%s: %s has no %s", file, comp, want)
					}
				}
			}
			if v := props["VCALENDAR"]["VERSION"].value; v != "2.0" {
				t.Errorf("%s: VERSION %q", file, v)
			}
			if _, err := time.Parse("20060102T150405Z", props["VEVENT"]["DTSTAMP"].value); err != nil {
				t.Errorf("%s: DTSTAMP is not UTC: %v", file, err)
			}
			for tz := range tzids {
				if !zones[tz] {
					t.Errorf("%s: TZID %s has no VTIMEZONE", file, tz)
				}
			}
			start, end := props["VEVENT"]["DTSTART"], props["VEVENT"]["DTEND"]
			if end.value != "" && end.value <= start.value {
				t.Errorf("%s: DTEND %s is not after DTSTART %s", file, end.value, start.value)
			}
			if end.value != "" && end.params != start.params {
				t.Errorf("%s: DTSTART;%s and DTEND;%s differ in kind", file, start.params, end.params)
			}
		}
	}
	if n != 3 {
		t.Errorf("checked %d calendar files, want 3", n)
	}
}

func TestICSText(t *testing.T) {
	for in, want := range map[string]string{
		"Fête, jeux; musique": `Fête\, jeux\; musique`,
		`C:\chemin`:           `C:\\chemin`,
		"deux\nlignes\r":      `deux\nlignes`,
		"tab\there\x7f":       "tabhere",
	} {
		if got := icsText(in); got != want {
			t.Errorf("icsText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestICSFold: folding never splits a character, keeps every line within
// 75 octets, and unfolds back to the line.
func TestICSFold(t *testing.T) {
	for _, line := range []string{
		"SUMMARY:" + strings.Repeat("é", 100),
		"SUMMARY:" + strings.Repeat("a", 67), // exactly 75 octets: no fold
		"SUMMARY:" + strings.Repeat("a", 68), // 76: one fold
		"SUMMARY:" + strings.Repeat("🐝", 40), // four-octet characters
	} {
		var w icsWriter
		w.line(line)
		got := parseICS(t, "fold", []byte(w.String()))
		if len(got) != 1 || got[0].name+":"+got[0].value != line {
			t.Errorf("fold of %q unfolds to %+v", line, got)
		}
		if len(line) <= 75 && strings.Count(w.String(), "\r\n") != 1 {
			t.Errorf("%q (%d octets) was folded", line, len(line))
		}
	}
}

// TestEventTimes: how an event's params become its start and end, on the
// page and in the calendar, in the box's time zone, across changes of
// offset.
func TestEventTimes(t *testing.T) {
	cases := []struct {
		name     string
		zone     string
		params   map[string]string
		when     string // in English
		calendar []string
	}{
		{"all day", "Europe/Paris", map[string]string{"date": "2026-06-21"}, "Sunday 21 June 2026",
			[]string{"DTSTART;VALUE=DATE:20260621", "DTEND;VALUE=DATE:20260622"}},
		{"several days", "Europe/Paris", map[string]string{"date": "2026-06-20", "end": "2026-06-21"}, "from Saturday 20 June 2026 to Sunday 21 June 2026",
			[]string{"DTSTART;VALUE=DATE:20260620", "DTEND;VALUE=DATE:20260622"}},
		{"same day", "Europe/Paris", map[string]string{"date": "2026-06-21", "time": "9:30", "end": "12:00"}, "Sunday 21 June 2026, 09:30 – 12:00",
			[]string{"BEGIN:DAYLIGHT", "DTSTART:20260329T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST",
				"DTSTART;TZID=Europe/Paris:20260621T093000", "DTEND;TZID=Europe/Paris:20260621T120000"}},
		{"night", "Europe/Paris", map[string]string{"date": "2026-06-21", "time": "20:00", "end": "02:00"}, "Sunday 21 June 2026, 20:00 – 02:00 the next day",
			[]string{"DTSTART;TZID=Europe/Paris:20260621T200000", "DTEND;TZID=Europe/Paris:20260622T020000"}},
		// The night summer time ends: both observances, in order.
		{"across a change of offset", "Europe/Paris", map[string]string{"date": "2026-10-24", "time": "20:00", "end": "2026-10-25 04:00"}, "Saturday 24 October 2026, 20:00 – 04:00 the next day",
			[]string{"BEGIN:DAYLIGHT", "DTSTART:20260329T020000", "BEGIN:STANDARD", "DTSTART:20261025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET"}},
		{"winter", "America/New_York", map[string]string{"date": "2026-12-05", "time": "18:00"}, "Saturday 5 December 2026, 18:00",
			[]string{"BEGIN:STANDARD", "DTSTART:20261101T020000", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "TZNAME:EST",
				"DTSTART;TZID=America/New_York:20261205T180000"}},
		{"no change of offset", "Asia/Tokyo", map[string]string{"date": "2026-06-21", "time": "18:00"}, "Sunday 21 June 2026, 18:00",
			[]string{"BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "TZNAME:JST"}},
		{"half hours", "Asia/Kolkata", map[string]string{"date": "2026-06-21", "time": "18:00"}, "Sunday 21 June 2026, 18:00",
			[]string{"TZOFFSETTO:+0530"}},
		{"UTC", "UTC", map[string]string{"date": "2026-06-21", "time": "18:00", "end": "19:00"}, "Sunday 21 June 2026, 18:00 – 19:00",
			[]string{"DTSTART:20260621T180000Z", "DTEND:20260621T190000Z"}},
		// Refused by validation; the renderer leaves out what it cannot
		// read rather than guess.
		{"end without a start time", "UTC", map[string]string{"date": "2026-06-21", "end": "19:00"}, "Sunday 21 June 2026",
			[]string{"DTSTART;VALUE=DATE:20260621", "DTEND;VALUE=DATE:20260622"}},
		{"end before the start", "UTC", map[string]string{"date": "2026-06-21", "end": "2026-06-20"}, "Sunday 21 June 2026",
			[]string{"DTEND;VALUE=DATE:20260622"}},
		{"timed start, all-day end", "UTC", map[string]string{"date": "2026-06-21", "time": "10:00", "end": "2026-06-22"}, "Sunday 21 June 2026, 10:00",
			[]string{"DTSTART:20260621T100000Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := eventOf(c.params)
			if got := ev.When(i18n.EN); got != c.when {
				t.Errorf("When = %q, want %q", got, c.when)
			}
			st := &site{
				pack: &provision.Pack{Association: provision.Association{Slug: "a"}},
				spec: &provision.Site{Name: "s"}, lang: i18n.EN, title: "T", base: "https://s.example", loc: location(c.zone),
			}
			ics := calendar(st, ev)
			lines := parseICS(t, c.name, ics)
			var flat []string
			for _, l := range lines {
				s := l.name
				if l.params != "" {
					s += ";" + l.params
				}
				flat = append(flat, s+":"+l.value)
			}
			// Wanted lines appear in this order (VTIMEZONE before VEVENT).
			at := 0
			for _, want := range c.calendar {
				i := indexFrom(flat, want, at)
				if i < 0 {
					t.Errorf("no %q (in order) in:\n%s", want, ics)
					break
				}
				at = i + 1
			}
		})
	}
}

func indexFrom(lines []string, want string, from int) int {
	for i := from; i < len(lines); i++ {
		if lines[i] == want {
			return i
		}
	}
	return -1
}

// TestWhenFrench: the event's line in French, which writes times "18 h 30".
func TestWhenFrench(t *testing.T) {
	for _, c := range []struct {
		ev   templates.Event
		want string
	}{
		{templates.Event{Date: "2026-08-01"}, "samedi 1er août 2026"},
		{templates.Event{Date: "2026-06-21", Time: "18:00"}, "dimanche 21 juin 2026, 18\u00a0h"},
		{templates.Event{Date: "2026-06-21", Time: "09:30", EndTime: "12:00"}, "dimanche 21 juin 2026, de 9\u00a0h\u00a030 à 12\u00a0h"},
		{templates.Event{Date: "2026-06-20", EndDate: "2026-06-21"}, "du samedi 20 juin 2026 au dimanche 21 juin 2026"},
		{templates.Event{Date: "2026-06-21", Time: "18:00", EndDate: "2026-06-22", EndTime: "01:30"}, "dimanche 21 juin 2026, de 18\u00a0h à 1\u00a0h\u00a030 le lendemain"},
		{templates.Event{Date: "2026-06-21", Time: "18:00", EndDate: "2026-06-22", EndTime: "19:00"}, "du dimanche 21 juin 2026, 18\u00a0h au lundi 22 juin 2026, 19\u00a0h"},
	} {
		if got := c.ev.When(i18n.FR); got != c.want {
			t.Errorf("When(%+v) = %q, want %q", c.ev, got, c.want)
		}
	}
}
