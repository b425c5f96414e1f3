// Package wiki renders DokuWiki's configuration for the box and the php-fpm
// that runs it.
//
// Debian's dokuwiki package provides the code (/usr/share/dokuwiki) and the
// default configuration (/etc/dokuwiki), which Ruche never touches. Ruche
// owns its own configuration folder, ConfDir, which a php-fpm
// auto_prepend_file names as DOKU_CONF: Debian's preload.php then reads the
// defaults from /etc/dokuwiki and everything local (local.php, the ACL, the
// users) from ConfDir. The wiki's data lives under DataDir (DokuWiki's
// savedir), so it is the box's data and is backed up with it.
package wiki

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"github.com/ruche-box/ruche/provision"
)

// Where the wiki lives, relative to the root.
const (
	// ConfDir is Ruche's DokuWiki configuration folder (DOKU_CONF).
	ConfDir = "etc/ruche/wiki"
	// DataDir is DokuWiki's savedir: pages, media, history, caches.
	DataDir = "var/lib/ruche/wiki"
	// Socket is php-fpm's FastCGI socket.
	Socket = provision.WikiSocket
	// Service is the php-fpm service's name.
	Service = "php-fpm"
	// CodeDir is Debian's DokuWiki code, the document root.
	CodeDir = provision.DokuWikiDir
	// PHPFPM is Debian's php-fpm binary.
	PHPFPM = "/usr/sbin/php-fpm8.2"
	// PoolUser runs the pool's workers when php-fpm starts as root.
	PoolUser = "www-data"
	// MSMTP is Debian's msmtp, a sendmail-compatible SMTP client: PHP's
	// mail() pipes DokuWiki's mail to it, and it hands the mail to the
	// box's Postfix over SMTP on loopback.
	MSMTP = "/usr/bin/msmtp"
	// MSMTPConf is msmtp's configuration, under ConfDir.
	MSMTPConf = ConfDir + "/msmtp.conf"
)

// dataSubdirs are the folders DokuWiki expects in its savedir.
var dataSubdirs = []string{"pages", "meta", "media", "media_meta", "media_attic", "attic", "cache", "index", "locks", "tmp", "log"}

// Renderer renders the wiki when the pack enables it. It implements
// provision.Renderer.
type Renderer struct{}

var _ provision.Renderer = Renderer{}

// Name is "wiki".
func (Renderer) Name() string { return "wiki" }

// Render appends DokuWiki's configuration, php-fpm's and the php-fpm
// service to out.
func (Renderer) Render(in *provision.RenderInput, out *provision.Desired) error {
	w := in.Pack.Wiki
	if !w.Enabled {
		return nil
	}
	conf := func(name string, content string, mode uint32) {
		f := provision.File{Path: ConfDir + "/" + name, Content: []byte(content), Group: "wiki"}
		// DokuWiki reads its files at every request; only php-fpm's own
		// configuration needs a reload (which would cut requests short).
		if name == "php-fpm.conf" {
			f.Service = Service
		}
		if mode != 0 {
			f.Mode = 0o640
			f.Owner = "root:" + PoolUser
		}
		out.Files = append(out.Files, f)
	}
	conf("local.php", localPHP(in), 0o640)
	conf("acl.auth.php", aclAuth(in), 0o640)
	conf("users.auth.php", usersAuth(in), 0o640)
	conf("prepend.php", prependPHP(in), 0)
	// DokuWiki's plugin states: Debian's defaults, and a local file that
	// must exist (DokuWiki tries to create it otherwise).
	conf("plugins.php", header+"$plugins['testing'] = 0;\n", 0)
	conf("plugins.required.php", header+pluginsRequired, 0)
	conf("plugins.local.php", header, 0)
	conf("php-fpm.conf", fpmConf(in), 0)
	// Readable by the pool's user (0644): it holds no secret, the box's
	// Postfix takes mail from loopback without authentication.
	conf("msmtp.conf", msmtpConf(in), 0)
	for name, body := range skeleton(in) {
		conf("skeleton/"+name, body, 0)
	}
	out.Services = append(out.Services, provision.ServiceSpec{
		Name:         Service,
		Command:      []string{"/bin/sh", "-c", startScript(in), "php-fpm"},
		ReloadSignal: "USR2",
		StopSignal:   "QUIT",
		StopTimeout:  10,
	})
	return nil
}

// phpString quotes s as a PHP single-quoted string.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const header = "<?php\n// Rendered by Ruche from the pack: edits are overwritten at the next apply.\n"

func localPHP(in *provision.RenderInput) string {
	w := in.Pack.Wiki
	title := w.Title
	if title == "" {
		title = "Wiki " + in.Pack.Association.Name
	}
	var b strings.Builder
	b.WriteString(header)
	set := func(k, v string) { fmt.Fprintf(&b, "$conf[%s] = %s;\n", phpString(k), v) }
	set("title", phpString(title))
	set("lang", phpString(in.Pack.Locale()))
	set("savedir", phpString(in.Abs(DataDir)))
	set("useacl", "1")
	set("authtype", phpString("authplain"))
	set("superuser", phpString("@"+provision.RoleAdmin))
	set("passcrypt", phpString("bcrypt"))
	set("userewrite", "1") // friendly URLs: Caddy's try_files sends /page to doku.php
	set("useslash", "1")
	set("start", phpString(startPage(in)))
	// Accounts and passwords are the panel's: no registration nor profile
	// changes in the wiki.
	set("disableactions", phpString("register,resendpwd,profile,profile_delete"))
	set("updatecheck", "0")
	set("plugin_manager", "0") // plugins come from Debian's package
	// Mail goes out through the box's Postfix (msmtpConf). Users may
	// subscribe to pages and namespaces and get their changes by mail.
	set("mailfrom", phpString(mailFrom(in)))
	set("mailreturnpath", phpString(envelopeFrom(in)))
	set("subscribers", "1")
	return b.String()
}

// mailDomain is the domain the wiki's mail comes from: the box's public
// domain, else the first domain the box receives mail for, else its LAN
// name (hostname.local: a relay may refuse it, but nothing better is
// known).
func mailDomain(in *provision.RenderInput) string {
	p := in.Pack
	switch {
	case p.Box.Domain != "":
		return asciiDomain(p.Box.Domain)
	case len(p.Mail.Domains) > 0:
		return asciiDomain(p.Mail.Domains[0])
	case p.Box.Hostname != "":
		return strings.ToLower(p.Box.Hostname) + ".local"
	}
	return "localhost"
}

// asciiDomain is a domain as it goes into a mail address: lower case,
// IDNA (café-anais.fr is xn--caf-anais-d4a.fr), since neither msmtp nor
// DokuWiki asks the server for SMTPUTF8. Validation already refused what
// IDNA cannot convert; such a name is kept as written.
func asciiDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	if a, err := idna.Lookup.ToASCII(d); err == nil && a != "" {
		return a
	}
	return d
}

// mailFrom is the wiki's From address (DokuWiki's mailfrom).
func mailFrom(in *provision.RenderInput) string {
	return "wiki@" + mailDomain(in)
}

// envelopeFrom is where bounces go (the envelope sender msmtp gives
// Postfix, and DokuWiki's mailreturnpath): the association's contact, so
// that a person learns that a subscriber's address is dead, when the
// contact is in a domain the box sends for; otherwise the wiki's own
// address, since a foreign domain in the envelope fails SPF at the
// recipients' servers and gets the mail refused.
func envelopeFrom(in *provision.RenderInput) string {
	contact := strings.TrimSpace(in.Pack.Association.Contact)
	if local, domain, ok := strings.Cut(contact, "@"); ok && local != "" && domain != "" {
		domain = asciiDomain(domain)
		own := append([]string{in.Pack.Box.Domain}, in.Pack.Mail.Domains...)
		for _, d := range own {
			if d != "" && asciiDomain(d) == domain {
				return local + "@" + domain
			}
		}
	}
	return mailFrom(in)
}

// smtpHostPort is where msmtp reaches the box's Postfix: RenderInput.SMTP,
// with an address that listens on every interface (":25", "0.0.0.0:25")
// reached on loopback.
func smtpHostPort(in *provision.RenderInput) (host, port string) {
	addr := in.SMTP
	if addr == "" {
		addr = provision.DefaultSMTPAddr(in.Root)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "", "25"
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return host, port
}

// msmtpConf is msmtp's configuration: plain SMTP to the box's own Postfix
// on loopback, no authentication, no TLS; Postfix relays from there. The
// timeout keeps a php-fpm worker from hanging on a Postfix that does not
// answer; errors go to the worker's stderr, which php-fpm passes to
// Ruche's log (catch_workers_output).
func msmtpConf(in *provision.RenderInput) string {
	host, port := smtpHostPort(in)
	hostname := strings.ToLower(in.Pack.Box.Hostname)
	if hostname == "" {
		hostname = "localhost"
	}
	return fmt.Sprintf(`# Rendered by Ruche from the pack: edits are overwritten at the next apply.
# DokuWiki's mail (PHP's mail(), sendmail_path in php-fpm.conf) goes to the
# box's Postfix on loopback.
account default
host %s
port %s
domain %s
auth off
tls off
tls_starttls off
timeout 30
from %s
syslog off
`, host, port, hostname, envelopeFrom(in))
}

func startPage(in *provision.RenderInput) string {
	if in.Pack.Locale() == "en" {
		return "start"
	}
	return "accueil"
}

// aclAuth grants reading to everyone (public_read) or to logged-in users,
// and creating (8: read, edit, create) to the editor roles.
func aclAuth(in *provision.RenderInput) string {
	w := in.Pack.Wiki
	var b strings.Builder
	b.WriteString("# Rendered by Ruche from the pack (wiki.public_read, wiki.editors).\n")
	if w.PublicRead {
		b.WriteString("*\t@ALL\t1\n")
	} else {
		b.WriteString("*\t@ALL\t0\n*\t@user\t1\n")
	}
	editors := slices.Clone(w.Editors)
	slices.Sort(editors)
	for _, role := range slices.Compact(editors) {
		fmt.Fprintf(&b, "*\t@%s\t8\n", role)
	}
	return b.String()
}

// field cleans a users.auth.php field: no separator, no line break.
func field(s string) string {
	return strings.NewReplacer(":", " ", "\n", " ", "\r", " ").Replace(s)
}

// usersAuth lists the panel users that have a password, with the panel's
// bcrypt hash and their role (and "user") as groups.
func usersAuth(in *provision.RenderInput) string {
	var b strings.Builder
	b.WriteString("# Rendered by Ruche from the panel's users: passwords are set with `ruche user passwd`.\n")
	b.WriteString("# login:passwordhash:Real Name:email:groups,comma,separated\n")
	for _, u := range in.Pack.Panel.Users {
		hash, ok := in.PasswordHashes[u.Login]
		// A disabled user is left out, whatever the database says: the
		// pack is what the wiki must follow, at once.
		if !ok || hash == "" || u.Disabled {
			continue
		}
		name := u.Name
		if name == "" {
			name = u.Login
		}
		fmt.Fprintf(&b, "%s:%s:%s:%s:%s,user\n", field(u.Login), field(hash), field(name), field(u.Email), field(u.Role))
	}
	return b.String()
}

func prependPHP(in *provision.RenderInput) string {
	return header + "if (!defined('DOKU_CONF')) define('DOKU_CONF', " + phpString(in.Abs(ConfDir)+"/") + ");\n"
}

// fpmConf is php-fpm's own configuration: one small pool started on demand
// (the box may have 1 GiB of RAM).
func fpmConf(in *provision.RenderInput) string {
	return fmt.Sprintf(`; Rendered by Ruche from the pack: edits are overwritten at the next apply.
[global]
pid = %s
error_log = /proc/self/fd/2
daemonize = no

[wiki]
user = %s
group = %s
listen = %s
listen.mode = 0600
pm = ondemand
pm.max_children = 3
pm.process_idle_timeout = 30s
pm.max_requests = 500
catch_workers_output = yes
php_admin_value[auto_prepend_file] = %s
php_admin_value[memory_limit] = 64M
php_admin_value[upload_max_filesize] = 16M
php_admin_value[post_max_size] = 16M
php_admin_flag[expose_php] = off
php_admin_value[sendmail_path] = %s
`, in.Abs(provision.RunDir+"/php-fpm.pid"), PoolUser, PoolUser, in.Abs(Socket), in.Abs(ConfDir+"/prepend.php"), sendmailPath(in))
}

// sendmailPath is PHP's sendmail_path: msmtp with Ruche's configuration,
// recipients read from the mail's headers (-t; -i, which PHP's default
// adds for sendmail, msmtp accepts and ignores). PHP runs it through
// /bin/sh, hence the quoted path; the whole value is double-quoted for
// php-fpm's INI parser.
func sendmailPath(in *provision.RenderInput) string {
	return `"` + MSMTP + " -C " + shQuote(in.Abs(MSMTPConf)) + ` -t -i"`
}

// startScript prepares the savedir before php-fpm starts: its folders, the
// skeleton pages that do not exist yet (a page that exists is never copied
// over), and
// ownership by the pool's user when running as root. Then php-fpm replaces
// the shell, so signals reach it directly.
func startScript(in *provision.RenderInput) string {
	data := in.Abs(DataDir)
	var dirs []string
	for _, d := range dataSubdirs {
		dirs = append(dirs, shQuote(path.Join(data, d)))
	}
	// The pool's user must traverse the folders above its configuration
	// and data. Ruche's own folders (etc/ruche, var/lib/ruche: the box's
	// state, 0750), when closed to others, let the group www-data traverse
	// them, not list them;
	// the system's (etc, var, var/lib) are world-traversable on a box
	// already and are made so under a development root.
	var system, own []string
	for _, rel := range []string{ConfDir, DataDir} {
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			if strings.Contains(d, "ruche") {
				own = append(own, shQuote(in.Abs(d)))
			} else {
				system = append(system, shQuote(in.Abs(d)))
			}
		}
	}
	for _, l := range []*[]string{&system, &own} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	perms := "chown -R " + PoolUser + ":" + PoolUser + " " + shQuote(data) +
		"; chmod o+x " + strings.Join(system, " ") +
		"; find " + strings.Join(own, " ") + " -maxdepth 0 ! -perm -o=x -exec chgrp " + PoolUser + " {} + -exec chmod g=x {} +"
	return "set -e\n" +
		"mkdir -p " + strings.Join(dirs, " ") + " " + shQuote(path.Dir(in.Abs(Socket))) + "\n" +
		"for f in " + shQuote(in.Abs(ConfDir+"/skeleton")) + "/*.txt; do p=" + shQuote(path.Join(data, "pages")) + "/${f##*/}; [ -e \"$p\" ] || cp \"$f\" \"$p\"; done\n" +
		"if [ \"$(id -u)\" = 0 ]; then " + perms + "; fi\n" +
		"exec " + PHPFPM + " -F -y " + shQuote(in.Abs(ConfDir+"/php-fpm.conf")) + "\n"
}

// pluginsRequired are the plugins DokuWiki needs, as Debian's
// /etc/dokuwiki/plugins.required.php lists them.
const pluginsRequired = `$plugins['acl']               = 1;
$plugins['authplain']         = 1;
$plugins['extension']         = 1;
$plugins['config']            = 1;
$plugins['usermanager']       = 1;
$plugins['template:dokuwiki'] = 1;
`
