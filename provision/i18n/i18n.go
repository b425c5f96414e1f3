// Package i18n holds Ruche's user-facing messages in French (the default)
// and English. A message is written once with both texts, next to the code
// that uses it, so no catalogue drifts away from the code.
package i18n

import (
	"fmt"
	"slices"
)

// Lang is a language code Ruche speaks.
type Lang string

// Languages Ruche speaks; French is the default.
const (
	FR Lang = "fr"
	EN Lang = "en"
)

// Parse returns the language for a code, French for anything unknown.
func Parse(code string) Lang {
	if code == "en" || len(code) > 2 && code[:3] == "en_" || len(code) > 2 && code[:3] == "en-" {
		return EN
	}
	return FR
}

// M is a message in both languages: fmt formats with the same verbs in both.
type M struct {
	FR, EN string
}

// In returns the format string for lang.
func (m M) In(lang Lang) string {
	if lang == EN {
		return m.EN
	}
	return m.FR
}

// Sprintf formats the message in lang. Arguments that speak both
// languages themselves (a Text, an error with Localize) are given in lang.
func (m M) Sprintf(lang Lang, args ...any) string {
	args = slices.Clone(args) // never the caller's (a Text's) own slice
	for i, a := range args {
		switch v := a.(type) {
		case Text:
			args[i] = v.String(lang)
		case Localizer:
			args[i] = v.Localize(lang)
		}
	}
	return fmt.Sprintf(m.In(lang), args...)
}

// Text is a message with its arguments, formatted when the language is known.
type Text struct {
	Msg  M
	Args []any
}

// T binds arguments to a message.
func T(m M, args ...any) Text { return Text{Msg: m, Args: args} }

// String formats the text in lang.
func (t Text) String(lang Lang) string { return t.Msg.Sprintf(lang, t.Args...) }

// Error is an error whose message exists in both languages. Error() answers
// in French, the default; callers that know the user's language use Localize.
type Error struct {
	Text
	Err error // wrapped cause, if any
}

// Errorf makes a bilingual error.
func Errorf(m M, args ...any) *Error { return &Error{Text: T(m, args...)} }

// Wrap makes a bilingual error around a cause; the cause's text is appended.
func Wrap(err error, m M, args ...any) *Error { return &Error{Text: T(m, args...), Err: err} }

func (e *Error) Error() string { return e.Localize(FR) }

// Localize formats the error in lang.
func (e *Error) Localize(lang Lang) string {
	s := e.Text.String(lang)
	if e.Err != nil {
		s += ": " + Localize(e.Err, lang)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Localizer is an error that can speak more than one language.
type Localizer interface {
	Localize(lang Lang) string
}

// Localize formats any error in lang when it knows how, else as Error().
func Localize(err error, lang Lang) string {
	if l, ok := err.(Localizer); ok {
		return l.Localize(lang)
	}
	return err.Error()
}
