// Package calendar parses systemd calendar expressions, the OnCalendar=
// syntax of systemd.time(7), and computes when they elapse.
//
// It follows systemd 252 (src/shared/calendarspec.c) step by step, because
// the same expression is both validated in the pack and handed to systemd
// timers: Parse accepts what systemd accepts, String prints what
// `systemd-analyze calendar` prints as "Normalized form:", and Next finds
// the elapses systemd finds, daylight-saving quirks included. The tests in
// this package check all three against the real systemd-analyze.
//
// Not supported: the local timezone's abbreviations ("CEST" on a box set to
// Europe/Paris) that systemd accepts besides UTC and IANA zone names; they
// depend on the machine's timezone. An abbreviation that is also a zone name
// in the tz database ("CET", "EST") is read as that zone, as systemd does
// when the machine is not in that timezone.
package calendar

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits from systemd's calendarspec.c.
const (
	minYear       = 1970
	maxYear       = 2199
	usecPerSec    = 1_000_000
	maxInt32      = 1<<31 - 1 // systemd keeps components in C ints
	maxChain      = 240       // CALENDARSPEC_COMPONENTS_MAX: a list holds at most 241 values
	maxIterations = 1000      // MAX_CALENDAR_ITERATIONS of find_next
)

// component is one comma-separated value of a field: start, an optional
// inclusive stop (-1 when absent) and an optional repetition (0 when
// absent). Seconds are counted in microseconds.
type component struct {
	start, stop, repeat int
}

// field names the six numeric parts of an expression.
type field int

const (
	year field = iota
	month
	day
	hour
	minute
	second
)

var fieldInfo = [...]struct {
	name     string
	min, max int
}{
	year:   {"year", minYear, maxYear},
	month:  {"month", 1, 12},
	day:    {"day", 1, 31},
	hour:   {"hour", 0, 23},
	minute: {"minute", 0, 59},
	second: {"second", 0, 60*usecPerSec - 1},
}

// Spec is a parsed calendar expression.
type Spec struct {
	weekdays uint8 // bit 0 is Monday, bit 6 Sunday; 0 means any day
	// fields holds the values of each field, sorted; nil means "*". The
	// seconds field is never nil: "*" there is 0 repeated every second.
	fields     [6][]component
	endOfMonth bool   // the day counts back from the end of the month ("~")
	utc        bool   // computed in UTC
	zone       string // IANA timezone name, when one was given (and not UTC)
	loc        *time.Location
}

var weekdayNames = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// weekdayWords is systemd's table: full names before abbreviations, so that
// "Monday" is not read as "Mon" followed by "day".
var weekdayWords = []struct {
	word string
	day  int
}{
	{"Monday", 0}, {"Mon", 0},
	{"Tuesday", 1}, {"Tue", 1},
	{"Wednesday", 2}, {"Wed", 2},
	{"Thursday", 3}, {"Thu", 3},
	{"Friday", 4}, {"Fri", 4},
	{"Saturday", 5}, {"Sat", 5},
	{"Sunday", 6}, {"Sun", 6},
}

// Parse parses a systemd calendar expression (systemd.time(7), "CALENDAR EVENTS").
func Parse(expr string) (*Spec, error) {
	if strings.IndexByte(expr, 0) >= 0 {
		return nil, errors.New("expression contains a NUL byte")
	}
	s := &Spec{}
	rest := expr
	// Like systemd, look for the timezone first: " UTC" in any case, else
	// a last word naming a zone of the tz database.
	if hasSuffixFold(rest, " UTC") {
		s.utc = true
		rest = rest[:len(rest)-len(" UTC")]
	} else if i := strings.LastIndexByte(rest, ' '); i >= 0 {
		if loc := loadZone(rest[i+1:]); loc != nil {
			s.zone, s.loc = rest[i+1:], loc
			rest = rest[:i]
		}
	}
	if rest == "" {
		if expr == "" {
			return nil, errors.New("empty expression")
		}
		return nil, errors.New("missing date or time before the timezone")
	}
	if !s.shorthand(rest) {
		p := &parser{s: rest}
		if err := p.parse(s); err != nil {
			return nil, err
		}
	}
	s.normalize()
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// shorthand sets s from one of the named expressions and reports whether
// rest was one.
func (s *Spec) shorthand(rest string) bool {
	f := &s.fields
	switch strings.ToLower(asciiOnly(rest)) {
	case "minutely":
	case "hourly":
		f[minute] = values(0)
	case "daily":
		f[hour], f[minute] = values(0), values(0)
	case "weekly":
		s.weekdays = 1 // Monday
		f[hour], f[minute] = values(0), values(0)
	case "monthly":
		f[day], f[hour], f[minute] = values(1), values(0), values(0)
	case "yearly", "annually", "anually": // "anually": systemd's backwards compatibility
		f[month], f[day], f[hour], f[minute] = values(1), values(1), values(0), values(0)
	case "quarterly":
		f[month], f[day], f[hour], f[minute] = values(1, 4, 7, 10), values(1), values(0), values(0)
	case "semiannually", "semi-annually", "biannually", "bi-annually":
		f[month], f[day], f[hour], f[minute] = values(1, 7), values(1), values(0), values(0)
	default:
		return false
	}
	f[second] = values(0)
	return true
}

// values returns a field holding the given single values.
func values(vs ...int) []component {
	c := make([]component, len(vs))
	for i, v := range vs {
		c[i] = component{v, -1, 0}
	}
	return c
}

// parser reads an expression (without its timezone) the way systemd does.
type parser struct {
	s   string
	pos int
}

// peek returns the byte at the cursor, 0 at the end (Parse refuses NUL bytes).
func (p *parser) peek() byte { return p.at(p.pos) }

func (p *parser) at(i int) byte {
	if i < len(p.s) {
		return p.s[i]
	}
	return 0
}

func (p *parser) skipSpaces() {
	for p.peek() == ' ' {
		p.pos++
	}
}

func (p *parser) parse(s *Spec) error {
	if err := p.weekdays(s); err != nil {
		return err
	}
	done, err := p.date(s)
	if err != nil {
		return err
	}
	if !done {
		if err := p.timeOfDay(s); err != nil {
			return err
		}
	}
	if p.pos < len(p.s) {
		return p.unexpected()
	}
	return nil
}

// weekdays reads an optional list of weekdays and ranges ("Mon..Fri,Sun").
func (p *parser) weekdays(s *Spec) error {
	start := p.pos
	open := -1 // first day of the range being read, or -1
	for first := true; ; first = false {
		wd, n := matchWeekday(p.s[p.pos:])
		if n == 0 {
			if first {
				return nil // no weekdays: the date comes first
			}
			return fmt.Errorf("expected a weekday after %q", p.s[start:p.pos])
		}
		if c := p.at(p.pos + n); c != 0 && !strings.ContainsRune("-., ", rune(c)) {
			return fmt.Errorf("unknown weekday %q", p.word())
		}
		s.weekdays |= 1 << wd
		if open >= 0 {
			if open > wd {
				return fmt.Errorf("weekday range %s..%s is backwards", weekdayNames[open], weekdayNames[wd])
			}
			for d := open + 1; d < wd; d++ {
				s.weekdays |= 1 << d
			}
		}
		p.pos += n
		switch p.peek() {
		case 0:
			return nil
		case ' ':
			p.skipSpaces()
			return nil
		case '.', '-': // "-" is systemd's older range syntax
			if open >= 0 {
				return fmt.Errorf("weekday range %q cannot be extended; separate ranges with \",\"", p.s[start:p.pos])
			}
			if p.peek() == '.' {
				if p.at(p.pos+1) != '.' {
					return errors.New(`weekday ranges are written with "..", as in Mon..Fri`)
				}
				p.pos++
			}
			p.pos++
			open = wd
		case ',':
			p.pos++
			open = -1
		}
		if c := p.peek(); c == 0 || c == ' ' {
			end := p.pos
			p.skipSpaces()
			if open >= 0 {
				return fmt.Errorf("weekday range %q has no end", p.s[start:end])
			}
			return nil // a trailing comma is fine
		}
	}
}

// matchWeekday returns the weekday named at the start of s and the length
// of its name, or n == 0.
func matchWeekday(s string) (wd, n int) {
	for _, w := range weekdayWords {
		if hasPrefixFold(s, w.word) {
			return w.day, len(w.word)
		}
	}
	return 0, 0
}

func isWeekday(word string) bool {
	_, n := matchWeekday(word)
	return n > 0 && n == len(word)
}

// date reads an optional date: YYYY-MM-DD, MM-DD, either with "~" before
// the day, or @SECONDS. done reports that no time may follow (@SECONDS).
func (p *parser) date(s *Spec) (done bool, err error) {
	if p.pos == len(p.s) {
		return false, nil
	}
	if p.peek() == '@' {
		return true, p.timestamp(s)
	}
	start := p.pos
	first, err := p.chain(false)
	if err != nil {
		return false, err
	}
	switch p.peek() {
	case 0, ':':
		p.pos = start // a time, not a date
		return false, nil
	case '~':
		s.endOfMonth = true
	case '-':
	default:
		return false, fmt.Errorf("incomplete date %q (use YYYY-MM-DD or MM-DD)", p.s[start:p.pos])
	}
	p.pos++
	second, err := p.chain(false)
	if err != nil {
		return false, err
	}
	switch c := p.peek(); {
	case c == 0 || c == ' ':
		p.skipSpaces()
		s.fields[month], s.fields[day] = first, second
		return false, nil
	case c == ':':
		return false, fmt.Errorf("missing space between date and time in %q", p.token())
	case s.endOfMonth:
		return false, errors.New(`"~" must come right before the day, as in *-02~03`)
	case c == '~':
		s.endOfMonth = true
	}
	p.pos++
	third, err := p.chain(false)
	if err != nil {
		return false, err
	}
	switch p.peek() {
	case 0, ' ':
	case ':':
		return false, fmt.Errorf("missing space between date and time in %q", p.token())
	default:
		return false, fmt.Errorf("date %q has too many parts", p.token())
	}
	p.skipSpaces()
	s.fields[year], s.fields[month], s.fields[day] = first, second, third
	return false, nil
}

// timestamp reads "@SECONDS", a single point in time, in UTC.
func (p *parser) timestamp(s *Spec) error {
	start := p.pos
	p.pos++ // '@'
	// systemd reads the number with strtoul(3): leading white space and a
	// sign are allowed, and "-N" wraps around to a time before 1970.
	for p.peek() != 0 && strings.IndexByte(" \t\n\v\f\r", p.peek()) >= 0 {
		p.pos++
	}
	negative := p.peek() == '-'
	if negative || p.peek() == '+' {
		p.pos++
	}
	digits := p.digits()
	if digits == "" {
		return errors.New(`expected seconds since 1970 after "@"`)
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	const limit = 7258118400 // 2200-01-01 00:00:00 UTC
	switch {
	case negative && v != 0:
		return fmt.Errorf("time %s is before 1970", p.s[start:p.pos])
	case err != nil || v >= limit:
		return fmt.Errorf("time %s is after 2199", p.s[start:p.pos])
	}
	t := time.Unix(int64(v), 0).UTC()
	s.fields = [6][]component{
		values(t.Year()), values(int(t.Month())), values(t.Day()),
		values(t.Hour()), values(t.Minute()), values(t.Second() * usecPerSec),
	}
	s.utc = true
	s.zone, s.loc = "", nil // systemd prints and computes @SECONDS in UTC whatever the zone
	return nil
}

// timeOfDay reads HH:MM or HH:MM:SS; when nothing is left it means 00:00:00.
func (p *parser) timeOfDay(s *Spec) error {
	if p.pos == len(p.s) {
		s.fields[hour], s.fields[minute], s.fields[second] = values(0), values(0), values(0)
		return nil
	}
	start := p.pos
	h, err := p.chain(false)
	if err != nil {
		return err
	}
	if p.peek() != ':' {
		if p.peek() == 0 {
			return fmt.Errorf("missing minutes after %q (use HH:MM)", p.s[start:])
		}
		return p.unexpected()
	}
	p.pos++
	m, err := p.chain(false)
	if err != nil {
		return err
	}
	sec := values(0)
	switch p.peek() {
	case 0:
	case ':':
		p.pos++
		if sec, err = p.chain(true); err != nil {
			return err
		}
		if p.peek() != 0 {
			return p.trailing()
		}
	default:
		return p.trailing()
	}
	s.fields[hour], s.fields[minute], s.fields[second] = h, m, sec
	return nil
}

// chain reads "*" or a comma-separated list of values. usec reads seconds,
// with an optional fraction, into microseconds.
func (p *parser) chain(usec bool) ([]component, error) {
	if p.peek() == '*' {
		p.pos++
		switch p.peek() {
		case '/':
			return nil, errors.New(`"*/N" is not supported; write "0/N" (or "1/N" for months and days)`)
		case 0, ' ', ':', '-', '~':
		default:
			return nil, p.unexpected()
		}
		if usec {
			return []component{{0, -1, usecPerSec}}, nil
		}
		return nil, nil
	}
	var chain []component
	for n := 0; ; n++ {
		if n > maxChain {
			return nil, fmt.Errorf("too many values in one list (at most %d)", maxChain+1)
		}
		c, err := p.component(usec)
		if err != nil {
			return nil, err
		}
		chain = append(chain, c)
		if p.peek() != ',' {
			return chain, nil
		}
		p.pos++
	}
}

// component reads one value: START, START..STOP, with an optional /REPEAT.
func (p *parser) component(usec bool) (component, error) {
	start := p.pos
	c := component{stop: -1}
	var err error
	if c.start, err = p.decimal(usec); err != nil {
		return c, err
	}
	if p.peek() == '.' && p.at(p.pos+1) == '.' {
		p.pos += 2
		if c.stop, err = p.decimal(usec); err != nil {
			return c, err
		}
		c.repeat = 1
		if usec {
			c.repeat = usecPerSec
		}
	}
	if p.peek() == '/' {
		p.pos++
		if c.repeat, err = p.decimal(usec); err != nil {
			return c, err
		}
		if c.repeat == 0 {
			return c, fmt.Errorf("repetition in %q must not be zero", p.s[start:p.pos])
		}
	} else if usec && c.stop >= 0 && c.start+c.repeat > c.stop {
		// A range of seconds without a repetition steps by one second.
		if c.stop < c.start {
			return c, fmt.Errorf("second range %q is backwards", p.s[start:p.pos])
		}
		return c, fmt.Errorf("second range %q spans less than one second; add a repetition such as /0.5", p.s[start:p.pos])
	}
	switch p.peek() {
	case 0, ' ', ',', '-', '~', ':':
		return c, nil
	}
	return c, p.unexpected()
}

// decimal reads an unsigned number; with usec, seconds with an optional
// fraction, into microseconds (rounded to the nearest, as systemd does).
func (p *parser) decimal(usec bool) (int, error) {
	if !isDigit(p.peek()) {
		return 0, p.badNumber()
	}
	digits := p.digits()
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || v > maxInt32 {
		return 0, tooLarge(digits, usec)
	}
	if !usec {
		return int(v), nil
	}
	v *= usecPerSec
	// One "." is a decimal point, but ".." is a range.
	if p.peek() == '.' && p.at(p.pos+1) != '.' {
		p.pos++
		frac, ok := p.fraction()
		if !ok {
			return 0, fmt.Errorf("expected digits after the decimal point in %q", digits+".")
		}
		v += uint64(frac)
	}
	if v > maxInt32 {
		return 0, tooLarge(digits, usec)
	}
	return int(v), nil
}

func tooLarge(digits string, usec bool) error {
	if usec {
		return fmt.Errorf("second %s is out of range (0..59)", digits)
	}
	return fmt.Errorf("number %s is too large", digits)
}

// fraction reads the digits after a decimal point as microseconds, the way
// systemd's parse_fractional_part_u does: six digits, rounded by the
// seventh, the rest ignored.
func (p *parser) fraction() (int, bool) {
	if !isDigit(p.peek()) {
		return 0, false
	}
	digits := p.digits()
	v := 0
	for i := range 6 {
		v *= 10
		if i < len(digits) {
			v += int(digits[i] - '0')
		}
	}
	if len(digits) > 6 && digits[6] >= '5' {
		v++
	}
	return v, true
}

func (p *parser) digits() string {
	start := p.pos
	for isDigit(p.peek()) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// word returns the text at the cursor up to the next separator.
func (p *parser) word() string {
	end := p.pos
	for end < len(p.s) && !strings.ContainsRune(" ,.-~:", rune(p.s[end])) {
		end++
	}
	if end == p.pos && end < len(p.s) {
		_, n := utf8.DecodeRuneInString(p.s[end:])
		end += n
	}
	return p.s[p.pos:end]
}

// token returns the space-separated word around the cursor.
func (p *parser) token() string {
	start := strings.LastIndexByte(p.s[:p.pos], ' ') + 1
	end := strings.IndexByte(p.s[p.pos:], ' ')
	if end < 0 {
		return p.s[start:]
	}
	return p.s[start : p.pos+end]
}

// unexpected reports the character at the cursor.
func (p *parser) unexpected() error {
	if p.pos >= len(p.s) {
		return errors.New("unexpected end of expression")
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	if r == ' ' {
		return fmt.Errorf("unexpected space after %q", p.s[:p.pos])
	}
	return fmt.Errorf("unexpected %q in %q", string(r), p.token())
}

// badNumber explains what stands where a number or "*" was expected.
func (p *parser) badNumber() error {
	if p.pos >= len(p.s) {
		return errors.New(`unexpected end of expression: expected a number or "*"`)
	}
	if !isLetter(p.peek()) {
		r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
		return fmt.Errorf(`expected a number or "*", found %q in %q`, string(r), p.token())
	}
	// Letters: a misspelt weekday or keyword, or a timezone.
	word := p.s[p.pos:]
	last := true // the last word of the expression
	if i := strings.IndexByte(word, ' '); i >= 0 {
		word, last = word[:i], false
	}
	switch {
	case isWeekday(p.word()) && p.pos > 0:
		return fmt.Errorf(`weekday %q must be joined to the other weekdays with ","`, p.word())
	case p.pos == 0 && isKeyword(word):
		return fmt.Errorf("%q cannot be combined with a date or time", word)
	case p.pos == 0 && last && len(word) != 3 && isKeywordLike(word):
		return fmt.Errorf("unknown keyword or weekday %q", word)
	case p.pos == 0:
		return fmt.Errorf("unknown weekday %q", p.word())
	case last && p.s[p.pos-1] == ' ':
		return fmt.Errorf("unknown timezone %q", word)
	}
	return fmt.Errorf("expected a number, found %q", p.word())
}

func isKeyword(word string) bool {
	s := &Spec{}
	return s.shorthand(word)
}

// isKeywordLike reports whether word is made of letters and dashes, as
// "semi-annually".
func isKeywordLike(word string) bool {
	for i := 0; i < len(word); i++ {
		if !isLetter(word[i]) && word[i] != '-' {
			return false
		}
	}
	return true
}

// trailing explains what follows a complete time.
func (p *parser) trailing() error {
	rest := p.s[p.pos:]
	if rest[0] == ' ' {
		word := strings.TrimLeft(rest, " ")
		switch {
		case word == "" || strings.HasSuffix(word, " "):
			return errors.New("unexpected space at the end")
		case strings.Contains(word, " "):
		case isWeekday(word):
			return fmt.Errorf("weekdays come first, as in \"%s *-*-* 12:00\"", word)
		case strings.IndexFunc(word, func(r rune) bool { return r < utf8.RuneSelf && isLetter(byte(r)) }) >= 0:
			return fmt.Errorf("unknown timezone %q", word)
		}
	}
	return p.unexpected()
}

// normalize is calendar_spec_normalize: two-digit years, sorted values
// without duplicates, ranges trimmed to their last repetition.
func (s *Spec) normalize() {
	if s.weekdays >= 1<<7-1 {
		s.weekdays = 0 // every day
	}
	if s.fields[day] == nil {
		s.endOfMonth = false
	}
	for i := range s.fields[year] {
		c := &s.fields[year][i]
		c.start, c.stop = fixYear(c.start), fixYear(c.stop)
	}
	for f := range s.fields {
		s.fields[f] = normalizeChain(s.fields[f])
	}
}

// fixYear turns 12 into 2012 and 89 into 1989.
func fixYear(y int) int {
	switch {
	case y >= 0 && y < 70:
		return y + 2000
	case y >= 70 && y < 100:
		return y + 1900
	}
	return y
}

func normalizeChain(chain []component) []component {
	for i := range chain {
		c := &chain[i]
		if c.stop > c.start && c.repeat > 0 {
			c.stop -= (c.stop - c.start) % c.repeat
		}
		// A repetition that cannot happen even once, or a range of one
		// value, is a single value.
		if c.stop > c.start && c.repeat > 0 && c.start+c.repeat > c.stop || c.start == c.stop {
			c.repeat, c.stop = 0, -1
		}
	}
	slices.SortFunc(chain, func(a, b component) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.stop, b.stop), cmp.Compare(a.repeat, b.repeat))
	})
	return slices.Compact(chain)
}

// validate is calendar_spec_valid, with a message for each refusal.
func (s *Spec) validate() error {
	for f := range s.fields {
		if err := s.validateField(field(f)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spec) validateField(f field) error {
	info := fieldInfo[f]
	from, to := info.min, info.max
	eom := f == day && s.endOfMonth
	value := func(v int) string { return s.formatValue(f, v) }
	for i, c := range s.fields[f] {
		if eom {
			// At most 28 days back from the end of the month. systemd
			// lowers that limit by 3 again for each further value of the
			// list (its chain_valid recurses with the lowered limit).
			to -= 3
		}
		outOfRange := func(v int) error {
			switch {
			case eom && to < from:
				return fmt.Errorf(`day %s: too many values in a "~" list`, value(v))
			case eom && i > 0:
				return fmt.Errorf(`day %s is out of range: systemd allows ~1..%s for value %d of a "~" list`, value(v), value(to), i+1)
			case f == second:
				return fmt.Errorf("second %s is out of range (0..59)", value(v))
			}
			return fmt.Errorf("%s %s is out of range (%s..%s)", info.name, value(v), value(from), value(to))
		}
		if c.start < from || c.start > to {
			return outOfRange(c.start)
		}
		if c.repeat > to-from {
			return fmt.Errorf("%s repetition /%s is too large", info.name, s.formatNumber(f, c.repeat))
		}
		if c.stop >= 0 {
			if c.stop < from || c.stop > to {
				return outOfRange(c.stop)
			}
			if c.start+c.repeat > c.stop {
				return fmt.Errorf("%s range %s..%s is backwards", info.name, value(c.start), value(c.stop))
			}
			continue
		}
		if eom && c.start-c.repeat < from {
			return fmt.Errorf("%s %s/%d would never repeat: it counts towards the last day, ~1", info.name, value(c.start), c.repeat)
		}
		if !eom && c.start+c.repeat > to {
			return fmt.Errorf("%s %s/%s would never repeat: %s is past %s", info.name, value(c.start),
				s.formatNumber(f, c.repeat), value(c.start+c.repeat), value(to))
		}
	}
	return nil
}

// formatValue writes a value of field f for messages: ~3 for a day counted
// from the end of the month, seconds with their fraction.
func (s *Spec) formatValue(f field, v int) string {
	if f == day && s.endOfMonth {
		return "~" + strconv.Itoa(v)
	}
	return s.formatNumber(f, v)
}

func (s *Spec) formatNumber(f field, v int) string {
	if f != second {
		return strconv.Itoa(v)
	}
	str := strconv.Itoa(v / usecPerSec)
	if frac := v % usecPerSec; frac != 0 {
		str += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return str
}

// String returns the expression in systemd's normalized form, exactly as
// `systemd-analyze calendar` prints it on its "Normalized form:" line.
func (s *Spec) String() string {
	var b strings.Builder
	if s.weekdays != 0 {
		s.writeWeekdays(&b)
		b.WriteByte(' ')
	}
	writeChain(&b, 4, s.fields[year], false)
	b.WriteByte('-')
	writeChain(&b, 2, s.fields[month], false)
	if s.endOfMonth {
		b.WriteByte('~')
	} else {
		b.WriteByte('-')
	}
	writeChain(&b, 2, s.fields[day], false)
	b.WriteByte(' ')
	writeChain(&b, 2, s.fields[hour], false)
	b.WriteByte(':')
	writeChain(&b, 2, s.fields[minute], false)
	b.WriteByte(':')
	writeChain(&b, 2, s.fields[second], true)
	if s.utc {
		b.WriteString(" UTC")
	} else if s.zone != "" {
		b.WriteString(" " + s.zone)
	}
	return b.String()
}

// writeWeekdays writes runs of three days or more as ranges, Mon..Wed, and
// shorter runs as lists, Mon,Tue.
func (s *Spec) writeWeekdays(b *strings.Builder) {
	sep := ""
	for d := 0; d < 7; {
		if s.weekdays&(1<<d) == 0 {
			d++
			continue
		}
		end := d
		for end+1 < 7 && s.weekdays&(1<<(end+1)) != 0 {
			end++
		}
		b.WriteString(sep + weekdayNames[d])
		switch end - d {
		case 0:
		case 1:
			b.WriteString("," + weekdayNames[end])
		default:
			b.WriteString(".." + weekdayNames[end])
		}
		sep = ","
		d = end + 1
	}
}

// writeChain is systemd's format_chain.
func writeChain(b *strings.Builder, width int, chain []component, usec bool) {
	if chain == nil {
		b.WriteByte('*')
		return
	}
	d := 1
	if usec {
		d = usecPerSec
		// Any value repeated every second from 0 covers all seconds.
		if slices.Contains(chain, component{0, -1, usecPerSec}) {
			b.WriteByte('*')
			return
		}
	}
	for i, c := range chain {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "%0*d", width, c.start/d)
		if c.start%d > 0 {
			fmt.Fprintf(b, ".%06d", c.start%d)
		}
		if c.stop > 0 {
			fmt.Fprintf(b, "..%0*d", width, c.stop/d)
			if c.stop%d > 0 {
				fmt.Fprintf(b, ".%06d", c.stop%d)
			}
		}
		if c.repeat > 0 && !(c.stop > 0 && c.repeat == d) {
			fmt.Fprintf(b, "/%d", c.repeat/d)
			if c.repeat%d > 0 {
				fmt.Fprintf(b, ".%06d", c.repeat%d)
			}
		}
	}
}

// Next returns the first elapse strictly after t (in t's location unless the
// expression names a timezone), or the zero time when there is none.
//
// The result is expressed in t's location, with systemd's microsecond
// precision. Times before 1970 count as the start of 1970, as systemd's
// clock cannot go earlier. Where systemd gives up its search (after 1000
// steps, which only contrived expressions take) and reports an error, Next
// returns the zero time.
func (s *Spec) Next(t time.Time) time.Time {
	z := &clock{loc: t.Location()}
	switch {
	case s.utc:
		z.loc = time.UTC
	case s.loc != nil:
		z.loc = s.loc
	}
	z.utc = z.loc == time.UTC
	if t.Year() > maxYear {
		return time.Time{}
	}
	usec := max(t.UnixMicro(), 0) + 1
	c := z.localtime(usec / usecPerSec)
	next, frac, ok := s.findNext(z, c, int(usec%usecPerSec))
	if !ok {
		return time.Time{}
	}
	unix, ok := z.mktime(&next)
	if !ok || unix < 0 {
		return time.Time{}
	}
	return time.Unix(unix, int64(frac)*1000).In(t.Location())
}

// findNext is systemd's find_next: starting from c, it moves each field, from
// the year down to the second, to its next matching value, and starts over
// whenever normalizing the date moved a field it had already settled.
func (s *Spec) findNext(z *clock, c tm, usec int) (tm, int, bool) {
	from, fromUsec := c, usec
	keepDST := false
	for range maxIterations {
		z.mktime(&c)
		if !keepDST {
			c.isDST = -1 // let mktime decide
		}

		r := s.match(z, year, &c, &c.year)
		if r > 0 {
			c.mon, c.mday, c.hour, c.min, c.sec, usec = 1, 1, 0, 0, 0, 0
		}
		if r < 0 || z.withinBounds(&c) <= 0 {
			return c, 0, false
		}

		r = s.match(z, month, &c, &c.mon)
		if r > 0 {
			c.mday, c.hour, c.min, c.sec, usec = 1, 0, 0, 0, 0
		}
		if r >= 0 {
			r = z.withinBounds(&c)
		}
		if r < 0 {
			c.year++
			c.mon, c.mday, c.hour, c.min, c.sec, usec = 1, 1, 0, 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		r = s.match(z, day, &c, &c.mday)
		if r > 0 {
			c.hour, c.min, c.sec, usec = 0, 0, 0, 0
		}
		if r >= 0 {
			r = z.withinBounds(&c)
		}
		if r < 0 {
			c.mon++
			c.mday, c.hour, c.min, c.sec, usec = 1, 0, 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		if !s.matchWeekday(z, c) {
			c.mday++
			c.hour, c.min, c.sec, usec = 0, 0, 0, 0
			continue
		}

		r = s.match(z, hour, &c, &c.hour)
		if r > 0 {
			c.min, c.sec, usec = 0, 0, 0
		}
		if r >= 0 {
			r = z.withinBounds(&c)
		}
		if r < 0 {
			c.mday++
			c.hour, c.min, c.sec, usec = 0, 0, 0, 0
			continue
		}
		if r == 0 {
			// The hour may not exist on that day (daylight saving time):
			// start again from the normalized time.
			continue
		}

		r = s.match(z, minute, &c, &c.min)
		if r > 0 {
			c.sec, usec = 0, 0
		}
		if r >= 0 {
			r = z.withinBounds(&c)
		}
		if r < 0 {
			c.hour++
			c.min, c.sec, usec = 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		v := c.sec*usecPerSec + usec
		r = s.match(z, second, &c, &v)
		c.sec, usec = v/usecPerSec, v%usecPerSec
		if r >= 0 {
			r = z.withinBounds(&c)
		}
		if r < 0 {
			c.min++
			c.sec, usec = 0, 0
			continue
		}
		if r == 0 {
			continue
		}
		if r = compareTime(from, c); r == 0 {
			r = cmp.Compare(fromUsec, usec+1)
		}
		if r >= 0 {
			// Stuck before the start, by a daylight saving transition: as
			// systemd 252 does, move on an hour and from now on keep the
			// DST flag mktime finds.
			keepDST = true
			c.hour++
			continue
		}
		return c, usec, true
	}
	return tm{}, 0, false // systemd gives up too
}

// compareTime compares the fields of a and b, from the year down.
func compareTime(a, b tm) int {
	return cmp.Or(cmp.Compare(a.year, b.year), cmp.Compare(a.mon, b.mon), cmp.Compare(a.mday, b.mday),
		cmp.Compare(a.hour, b.hour), cmp.Compare(a.min, b.min), cmp.Compare(a.sec, b.sec))
}

// match is find_matching_component: it moves *val to the earliest value of
// field f at or after it, and returns 1 if *val changed, 0 if not, -1 when
// no value is left.
func (s *Spec) match(z *clock, f field, c *tm, val *int) int {
	chain := s.fields[f]
	if chain == nil {
		return 0
	}
	eom := f == day && s.endOfMonth
	found := false
	best := -1
	for _, e := range chain {
		start, stop := e.start, e.stop
		if eom {
			start, stop = z.endOfMonth(*c, e.start), z.endOfMonth(*c, e.stop)
			if stop > 0 {
				start, stop = stop, start
			}
		}
		if start >= *val {
			if !found || start < best {
				best, found = start, true
			}
		} else if e.repeat > 0 {
			k := start + e.repeat*((*val-start+e.repeat-1)/e.repeat)
			if (!found || k < best) && (stop < 0 || k <= stop) {
				best, found = k, true
			}
		}
	}
	if !found {
		return -1
	}
	changed := 0
	if *val != best {
		changed = 1
	}
	*val = best
	return changed
}

func (s *Spec) matchWeekday(z *clock, c tm) bool {
	if s.weekdays == 0 {
		return true
	}
	if _, ok := z.mktime(&c); !ok {
		return false
	}
	return s.weekdays&(1<<((c.wday+6)%7)) != 0 // Monday is bit 0
}

// tm is C's struct tm as find_next uses it: fields may be out of range until
// mktime normalizes them. mon counts from 1.
type tm struct {
	year, mon, mday, hour, min, sec int
	wday                            int // 0 is Sunday, set by mktime
	isDST                           int // -1: unknown
}

func tmOf(t time.Time) tm {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	dst := 0
	if t.IsDST() {
		dst = 1
	}
	return tm{y, int(mo), d, h, mi, sec, int(t.Weekday()), dst}
}

// clock does the C library's broken-down time arithmetic in one location:
// timegm(3) for UTC, and for other zones a replica of glibc's mktime(3).
// The replica matters because systemd's results at daylight-saving
// transitions follow from how mktime resolves skipped and repeated local
// times, which depends on the offset of its previous result.
type clock struct {
	loc   *time.Location
	utc   bool
	guess int64 // the UTC offset mktime settled on last time: where it starts searching
}

func (z *clock) localtime(unix int64) tm {
	return tmOf(time.Unix(unix, 0).In(z.loc))
}

// mktime normalizes c and returns its Unix time; on failure c is unchanged.
func (z *clock) mktime(c *tm) (int64, bool) {
	if z.utc {
		t := time.Date(c.year, time.Month(c.mon), c.mday, c.hour, c.min, c.sec, 0, time.UTC)
		*c = tmOf(t)
		return t.Unix(), true
	}
	t, ok := z.glibcMktime(*c)
	if !ok {
		return -1, false
	}
	*c = tmOf(time.Unix(t, 0).In(z.loc))
	return t, true
}

// wall returns the local wall-clock time of t as seconds, as if it were UTC.
func (z *clock) wall(t int64) (wall int64, dst bool) {
	lt := time.Unix(t, 0).In(z.loc)
	_, off := lt.Zone()
	return t + int64(off), lt.IsDST()
}

// glibcMktime follows __mktime_internal of glibc 2.36: guess with the
// previous offset, then follow the offsets found until the wall clock
// matches.
func (z *clock) glibcMktime(c tm) (int64, bool) {
	// glibc clamps the seconds to 0..59 and adds the excess at the end, so
	// that a leap second does not upset the search.
	sec := min(max(c.sec, 0), 59)
	want := time.Date(c.year, time.Month(c.mon), c.mday, c.hour, c.min, sec, 0, time.UTC).Unix()

	t0 := want - z.guess
	t, t1, t2 := t0, t0, t0
	dst2 := false
	for probes := 6; ; {
		w, dst := z.wall(t)
		if w == want {
			if c.isDST >= 0 && (c.isDST != 0) != dst {
				// A repeated time resolved to the other side than asked.
				var ok bool
				if t, ok = z.withDST(t, want, c.isDST != 0); !ok {
					return -1, false
				}
			}
			break
		}
		// A skipped time makes the search oscillate between both sides;
		// glibc then settles on the side in daylight saving time, or, when
		// asked for one side, on the other one.
		if t == t1 && t != t2 && (c.isDST < 0 && b2i(dst2) <= b2i(dst) || c.isDST >= 0 && (c.isDST != 0) != dst) {
			break
		}
		if probes--; probes == 0 {
			return -1, false
		}
		t1, t2, t, dst2 = t2, t, t+(want-w), dst
	}
	z.guess = want - t
	return t + int64(c.sec-sec), true
}

// withDST looks around t for a time whose daylight saving is dst, and
// returns want at that time's UTC offset, as glibc does.
func (z *clock) withDST(t, want int64, dst bool) (int64, bool) {
	const stride, bound = 601200, 536454000/2 + 601200
	for delta := int64(stride); delta < bound; delta += stride {
		for _, ot := range []int64{t - delta, t + delta} {
			if w, odst := z.wall(ot); odst == dst {
				return ot + (want - w), true
			}
		}
	}
	return 0, false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// withinBounds is tm_within_bounds: it returns 1 when c is a valid time, 0
// when normalizing moved it forward (c then holds the normalized time, with
// the field below the first changed one reset), and -1 when c is past 2199
// or normalizing moved it backward.
func (z *clock) withinBounds(c *tm) int {
	if c.year > maxYear {
		return -1
	}
	t := *c
	if unix, ok := z.mktime(&t); !ok || unix < 0 {
		return -1
	}
	var order int
	switch {
	case t.year != c.year:
		order, t.mon = cmp.Compare(t.year, c.year), 1
	case t.mon != c.mon:
		order, t.mday = cmp.Compare(t.mon, c.mon), 1
	case t.mday != c.mday:
		order, t.hour = cmp.Compare(t.mday, c.mday), 0
	case t.hour != c.hour:
		order, t.min = cmp.Compare(t.hour, c.hour), 0
	case t.min != c.min:
		order, t.sec = cmp.Compare(t.min, c.min), 0
	default:
		order = cmp.Compare(t.sec, c.sec)
	}
	switch {
	case order < 0:
		return -1 // refuse to go backward
	case order > 0:
		*c = t
		return 0
	}
	return 1
}

// endOfMonth returns the day of c's month that is n days before its end
// (~1 is the last day), or -1.
func (z *clock) endOfMonth(c tm, n int) int {
	t := c
	t.mon++
	t.mday = 1 - n
	if unix, ok := z.mktime(&t); !ok || unix < 0 || t.mon != c.mon {
		return -1
	}
	return t.mday
}

// loadZone returns the location named by a timezone that systemd would
// accept (timezone_is_valid: a file of the tz database), or nil.
func loadZone(name string) *time.Location {
	if name == "" || name[0] == '/' || name[len(name)-1] == '/' || strings.Contains(name, "//") {
		return nil
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isDigit(c) && !isLetter(c) && !strings.ContainsRune("-_+/", rune(c)) {
			return nil
		}
	}
	if name == "Local" { // Go's name for the local zone, not a tz database file
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && equalFold(s[len(s)-len(suffix):], suffix)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && equalFold(s[:len(prefix)], prefix)
}

// equalFold compares ASCII letters without case, like strcasecmp(3) in the
// C locale (strings.EqualFold would also fold "K" (Kelvin) into "k").
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if isLetter(x) {
			x |= 0x20
		}
		if isLetter(y) {
			y |= 0x20
		}
		if x != y {
			return false
		}
	}
	return true
}

// asciiOnly returns s when it is ASCII, else "" (no shorthand matches), so
// that strings.ToLower folds nothing systemd would not.
func asciiOnly(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return ""
		}
	}
	return s
}
