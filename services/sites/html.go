package sites

import (
	"bytes"
	"html/template"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// imagesAlt gives every image of sanitised HTML an alt attribute (empty
// when the page gave none: a screen reader then skips the image instead
// of reading its file name) and lets the browser load it lazily. It
// rewrites <img> tags only and copies every other byte as it was, so it
// cannot undo what the sanitiser did.
func imagesAlt(src []byte) []byte {
	if !bytes.Contains(src, []byte("<img")) {
		return src
	}
	var out bytes.Buffer
	out.Grow(len(src) + 64)
	z := html.NewTokenizer(bytes.NewReader(src))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out.Bytes()
		}
		raw := z.Raw()
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			out.Write(raw)
			continue
		}
		tok := z.Token()
		if tok.Data != "img" {
			out.Write(raw)
			continue
		}
		hasAlt, hasLoading := false, false
		for _, a := range tok.Attr {
			hasAlt = hasAlt || a.Key == "alt"
			hasLoading = hasLoading || a.Key == "loading"
		}
		if !hasAlt {
			tok.Attr = append(tok.Attr, html.Attribute{Key: "alt"})
		}
		if !hasLoading {
			tok.Attr = append(tok.Attr, html.Attribute{Key: "loading", Val: "lazy"})
		}
		tok.Type = html.StartTagToken
		out.WriteString(tok.String())
	}
}

// maxSummary is how much of a post's first paragraph a news index shows,
// in characters: about two lines on a phone.
const maxSummary = 220

// summary is the text of the first paragraph of a post that has any, cut
// at a word near maxSummary characters: what a news index shows under a
// post's title.
func summary(body template.HTML) string {
	z := html.NewTokenizer(strings.NewReader(string(body)))
	depth := 0 // inside a <p> when > 0
	var text strings.Builder
	for {
		switch z.Next() {
		case html.ErrorToken:
			return shorten(text.String())
		case html.StartTagToken:
			if name, _ := z.TagName(); string(name) == "p" {
				depth++
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "p" && depth > 0 {
				depth--
				if depth == 0 && strings.TrimSpace(text.String()) != "" {
					return shorten(text.String())
				}
			}
		case html.TextToken:
			if depth > 0 {
				text.Write(z.Text())
			}
		}
	}
}

// shorten collapses white space and cuts s at a word boundary.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxSummary {
		return s
	}
	cut := string([]rune(s)[:maxSummary])
	if i := strings.LastIndexByte(cut, ' '); i > maxSummary/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.") + "…"
}
