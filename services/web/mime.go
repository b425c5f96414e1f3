package web

import "mime"

// The sites serve an iCalendar file (event template) and an Atom feed (news
// template). Go's built-in table lacks both, and /etc/mime.types (Debian's
// media-types) may be missing from a box image: register them here so that
// Caddy's file server always sends the right Content-Type.
func init() {
	mime.AddExtensionType(".ics", "text/calendar; charset=utf-8")
	mime.AddExtensionType(".atom", "application/atom+xml; charset=utf-8")
}
