package sites

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ruche-box/ruche/templates"
)

// calendar renders an event site's iCalendar file (RFC 5545): one VEVENT
// that phones and calendar programs add with one tap.
//
// Times are written in the box's time zone, with its TZID and a VTIMEZONE
// describing the offsets around the event (RFC 5545 requires one for every
// TZID), so the event stays at 18:00 local time for a reader elsewhere;
// in UTC they are written as UTC. An event without a time is an all-day
// event (VALUE=DATE), the end day exclusive as the RFC says. Everything is
// derived from the pack, DTSTAMP included, so that a render is pure.
func calendar(st *site, ev *templates.Event) []byte {
	start, _ := templates.ParseDate(ev.Date)
	var c icsWriter
	c.line("BEGIN:VCALENDAR")
	c.line("VERSION:2.0")
	c.line("PRODID:-//Ruche//Sites//" + strings.ToUpper(string(st.lang)))
	c.line("CALSCALE:GREGORIAN")

	var dtstart, dtend string
	switch {
	case ev.Time == "":
		endDay := start
		if ev.EndDate != "" {
			endDay, _ = templates.ParseDate(ev.EndDate)
		}
		dtstart = "DTSTART;VALUE=DATE:" + start.Format("20060102")
		dtend = "DTEND;VALUE=DATE:" + endDay.AddDate(0, 0, 1).Format("20060102")
	default:
		from := wallTime(st.loc, ev.Date, ev.Time)
		to := from
		if ev.EndTime != "" {
			to = wallTime(st.loc, firstNonEmpty(ev.EndDate, ev.Date), ev.EndTime)
		}
		if st.loc == time.UTC {
			dtstart = "DTSTART:" + from.Format("20060102T150405Z")
			if ev.EndTime != "" {
				dtend = "DTEND:" + to.Format("20060102T150405Z")
			}
		} else {
			tzid := st.loc.String()
			c.vtimezone(st.loc, from, to)
			dtstart = "DTSTART;TZID=" + tzid + ":" + from.Format("20060102T150405")
			if ev.EndTime != "" {
				dtend = "DTEND;TZID=" + tzid + ":" + to.Format("20060102T150405")
			}
		}
	}

	c.line("BEGIN:VEVENT")
	c.line("UID:" + strings.TrimPrefix(uuidURN(st.pack.Association.Slug, st.spec.Name, "event"), "urn:uuid:"))
	// DTSTAMP says when this description was made; the clock would make
	// every apply rewrite the file, so it is the event's own day.
	c.line("DTSTAMP:" + start.Format("20060102") + "T000000Z")
	c.line(dtstart)
	if dtend != "" {
		c.line(dtend)
	}
	c.line("SUMMARY:" + icsText(st.title))
	if len(ev.Place) > 0 {
		c.line("LOCATION:" + icsText(strings.Join(ev.Place, ", ")))
	}
	// The description repeats the address of the site: not every calendar
	// shows URL, and the programme is there.
	desc := st.base + "/"
	if t := strings.TrimSpace(st.spec.Params["tagline"]); t != "" {
		desc = t + "\n\n" + desc
	}
	c.line("DESCRIPTION:" + icsText(desc))
	c.line("URL:" + st.base + "/")
	c.line("END:VEVENT")
	c.line("END:VCALENDAR")
	return []byte(c.String())
}

// wallTime is a date and an HH:MM time in loc. A time that does not exist
// that day (skipped by a change to summer time) moves forward, as Go does.
func wallTime(loc *time.Location, date, clock string) time.Time {
	t, _ := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, loc)
	return t
}

// icsWriter builds content lines: CRLF endings, folded at 75 octets.
type icsWriter struct{ strings.Builder }

// line writes one content line, folded as RFC 5545 section 3.1 says: no
// line longer than 75 octets, continuations starting with a space, never
// inside a UTF-8 sequence.
func (w *icsWriter) line(s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		w.WriteString(s[:cut])
		w.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	w.WriteString(s)
	w.WriteString("\r\n")
}

// icsText escapes a TEXT value (RFC 5545 section 3.3.11): backslash,
// semicolon, comma and newline; other control characters are dropped.
func icsText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < ' ' || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// vtimezone describes loc from the last change of offset before from to
// the end of the event: one STANDARD or DAYLIGHT observance per change
// (RFC 5545 section 3.6.5). A zone that did not change in the year before
// the event gets one observance, its offset since 1970.
func (w *icsWriter) vtimezone(loc *time.Location, from, to time.Time) {
	changes := offsetChanges(loc, from.AddDate(-1, 0, 0), to)
	last := -1 // the last change at or before from
	for i, t := range changes {
		if !t.After(from) {
			last = i
		}
	}
	w.line("BEGIN:VTIMEZONE")
	w.line("TZID:" + loc.String())
	if last < 0 {
		// No change in the year before: the offset at the start holds
		// from a date before any event, and later changes follow.
		name, off := from.Zone()
		w.observance(from.IsDST(), "19700101T000000", off, off, name)
		last = 0
	}
	for _, t := range changes[last:] {
		_, before := t.Add(-time.Second).Zone()
		name, after := t.Zone()
		// DTSTART is the local time of the change in the offset before it.
		onset := t.In(time.FixedZone("", before)).Format("20060102T150405")
		w.observance(t.IsDST(), onset, before, after, name)
	}
	w.line("END:VTIMEZONE")
}

func (w *icsWriter) observance(dst bool, onset string, from, to int, name string) {
	kind := "STANDARD"
	if dst {
		kind = "DAYLIGHT"
	}
	w.line("BEGIN:" + kind)
	w.line("DTSTART:" + onset)
	w.line("TZOFFSETFROM:" + utcOffset(from))
	w.line("TZOFFSETTO:" + utcOffset(to))
	if name != "" {
		w.line("TZNAME:" + icsText(name))
	}
	w.line("END:" + kind)
}

// utcOffset writes seconds east of UTC as RFC 5545 does: +0200, -0330.
func utcOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	s := fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

// offsetChanges lists the instants in [from, to] when loc's offset
// changes. Go's time package does not expose a zone's transitions, so
// they are found by stepping a day at a time and bisecting each change to
// the second: a few hundred lookups, for an event site only.
func offsetChanges(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	zoneOf := func(t time.Time) (int, bool) { _, off := t.In(loc).Zone(); return off, t.In(loc).IsDST() }
	prev := from.In(loc)
	prevOff, prevDST := zoneOf(prev)
	for prev.Before(to) {
		next := prev.Add(24 * time.Hour)
		if next.After(to) {
			next = to
		}
		off, dst := zoneOf(next)
		if off != prevOff || dst != prevDST {
			lo, hi := prev, next // the change is in (lo, hi]
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
				if o, d := zoneOf(mid); o == prevOff && d == prevDST {
					lo = mid
				} else {
					hi = mid
				}
			}
			out = append(out, hi.In(loc))
		}
		prev, prevOff, prevDST = next, off, dst
	}
	return out
}
