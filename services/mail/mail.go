// Package mail renders the box's Postfix from the pack's `mail` section:
// the domains it receives for, their aliases, the relay outgoing mail goes
// through, and SRS (Debian's postsrsd) so that forwarded mail passes the
// volunteers' providers' SPF checks.
//
// Postfix runs as an instance of its own, in the multi-instance layout
// (config in etc/postfix-ruche, queue in var/spool/postfix-ruche, data in
// var/lib/postfix-ruche), started with `postfix -c DIR start-fg` by the
// supervisor. Debian's /etc/postfix is never touched.
//
// What Ruche renders (StageDir) is not what Postfix reads (ConfDir): the
// activation script copies the rendered files into a candidate folder,
// builds the maps (postmap), fills in the relay password from its secret
// file, runs `postfix check` on the candidate, and only when the check
// passes moves the files into ConfDir (one rename each) and reloads
// Postfix. A failing check leaves the running configuration in place, and
// the relay password never lands in a rendered file, a plan's diff or a log.
package mail

import (
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/ruche-box/ruche/provision"
)

// Where the mail service lives, relative to the root.
const (
	// StageDir holds what Ruche renders: main.cf, master.cf, the alias
	// table's source and the activation script.
	StageDir = "etc/ruche/mail"
	// ConfDir is the Postfix instance's config_directory.
	ConfDir = "etc/postfix-ruche"
	// QueueDir is its queue_directory (owned by root, subfolders by postfix).
	QueueDir = "var/spool/postfix-ruche"
	// DataDir is its data_directory (owned by the postfix user).
	DataDir = "var/lib/postfix-ruche"
	// SRSSecret is postsrsd's key, made on first start, never shown.
	SRSSecret = provision.SecretsDir + "/postsrsd"
	// SRSPidFile is where postsrsd writes its pid.
	SRSPidFile = provision.RunDir + "/postsrsd.pid"

	// Service is Postfix's service name; SRSService postsrsd's.
	Service    = "postfix"
	SRSService = "postsrsd"

	// Debian's binaries.
	Postfix  = "/usr/sbin/postfix"
	Postmap  = "/usr/sbin/postmap"
	PostSRSd = "/usr/sbin/postsrsd"
)

// Enabled says whether the pack wants the box's mail: a domain to receive
// for, an alias or a relay. A pack without any has no Postfix at all.
func Enabled(p *provision.Pack) bool {
	m := p.Mail
	return len(m.Domains) > 0 || len(m.Aliases) > 0 || m.Relay != nil
}

// Renderer renders Postfix and postsrsd when the pack has mail. It
// implements provision.Renderer.
type Renderer struct{}

var _ provision.Renderer = Renderer{}

// Name is "mail".
func (Renderer) Name() string { return "mail" }

// Render appends Postfix's staged configuration and its services to out.
func (Renderer) Render(in *provision.RenderInput, out *provision.Desired) error {
	if !Enabled(in.Pack) {
		return nil
	}
	listen, err := ListenService(in.SMTP)
	if err != nil {
		return err
	}
	srs := srsPorts(in.SMTP)
	stage := func(name, content string, mode fs.FileMode) {
		out.Files = append(out.Files, provision.File{
			Path: StageDir + "/" + name, Content: []byte(content), Mode: mode,
			Group: "mail", Service: Service,
		})
	}
	stage("main.cf", mainCF(in, srs), 0o644)
	stage("master.cf", masterCF(listen), 0o644)
	stage("virtual", virtualTable(in.Pack), 0o644)
	stage("generic", genericTable(in.Pack), 0o644)
	stage("activate.sh", activateScript(in), 0o755)

	out.Services = append(out.Services, provision.ServiceSpec{
		Name: Service,
		// `start-fg` keeps Postfix's master in the foreground, logging to
		// standard output (maillog_file), for the supervisor to follow.
		Command: []string{"/bin/sh", "-c", runScript(in), "postfix"},
		// Alias changes: postmap + `postfix reload`, never a restart.
		ReloadCommand: []string{"/bin/sh", in.Abs(StageDir + "/activate.sh"), "reload"},
		StopSignal:    "TERM",
		StopTimeout:   20,
	})
	if len(in.Pack.Mail.Domains) > 0 {
		out.Services = append(out.Services, provision.ServiceSpec{
			Name: SRSService,
			Command: []string{"/bin/sh", "-c",
				"set -e; f=" + shQuote(in.Abs(SRSSecret)) + "; " +
					"[ -s \"$f\" ] || (umask 077; mkdir -p \"${f%/*}\"; head -c 32 /dev/urandom | base64 > \"$f.tmp\" && mv \"$f.tmp\" \"$f\"); " +
					"u=; id postsrsd >/dev/null 2>&1 && [ \"$(id -u)\" = 0 ] && u=-upostsrsd; " +
					// Switching user clears the kernel's parent-death
					// signal: a postsrsd left by a ruche that was killed
					// still holds the ports. Its pid file finds it.
					"pid=" + shQuote(in.Abs(SRSPidFile)) + "; " +
					"if [ -s \"$pid\" ] && grep -q postsrsd /proc/$(cat \"$pid\")/cmdline 2>/dev/null; then kill $(cat \"$pid\"); sleep 0.5; fi; " +
					"mkdir -p \"${pid%/*}\"; " +
					"exec " + PostSRSd + " -s\"$f\" -p\"$pid\" -d" + shQuote(srsDomain(in.Pack)) +
					" -l127.0.0.1 -f" + strconv.Itoa(srs.forward) + " -r" + strconv.Itoa(srs.reverse) + srsExclude(in.Pack) + " $u",
				"postsrsd"},
			StopTimeout: 5,
		})
	}
	return nil
}

// runScript is Postfix's service: activate, then `postfix start-fg`.
// Postfix's master makes itself a session leader, out of the process
// group the supervisor signals, so stopping it takes `postfix stop`: the
// shell stays in front to do that on TERM, and waits until the master is
// gone so that a restart finds the port and the lock free. A master left
// over by a ruche that was killed (SIGKILL reaches this shell, not the
// master) is stopped by `activate.sh start`.
func runScript(in *provision.RenderInput) string {
	conf := shQuote(in.Abs(ConfDir))
	return "/bin/sh " + shQuote(in.Abs(StageDir+"/activate.sh")) + " start || exit 1\n" +
		"stop() { " + Postfix + " -c " + conf + " stop >/dev/null 2>&1; " + waitStopped(conf) + " exit 0; }\n" +
		"trap stop TERM INT\n" +
		Postfix + " -c " + conf + " start-fg &\n" +
		"wait $!\n"
}

// waitStopped waits (10 s at most) until no master runs for conf.
func waitStopped(conf string) string {
	return "i=0; while " + Postfix + " -c " + conf + " status >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done;"
}

// ListenService turns --smtp's address into master.cf's service name for
// smtpd: "127.0.0.1:2525" stays as it is, ":25" (every address) is "25".
func ListenService(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("smtp listen address %q: %w", addr, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("smtp listen address %q: port must be a number", addr)
	}
	if host == "" {
		return port, nil
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port, nil
	}
	return host + ":" + port, nil
}

// ports postsrsd listens on for Postfix's lookups.
type ports struct{ forward, reverse int }

// srsPorts are Debian's defaults on a box (SMTP on port 25), and the two
// ports after --smtp's elsewhere, so that boxes under several roots on
// one machine (tests, development) do not collide.
func srsPorts(smtp string) ports {
	_, p, _ := net.SplitHostPort(smtp)
	n, _ := strconv.Atoi(p)
	if n == 25 || n == 0 || n > 65533 {
		return ports{10001, 10002}
	}
	return ports{n + 1, n + 2}
}

// hostname is the box's mail name: <hostname>.<domain> when the box has a
// public domain, else <hostname>.local as on the LAN.
func hostname(p *provision.Pack) string {
	if p.Box.Domain != "" {
		return p.Box.Hostname + "." + ascii(p.Box.Domain)
	}
	return p.Box.Hostname + ".local"
}

// origin is the domain of the box's own mail (alerts, DokuWiki).
func origin(p *provision.Pack) string {
	if p.Box.Domain != "" {
		return ascii(p.Box.Domain)
	}
	return p.Box.Hostname + ".local"
}

// srsDomain is the domain forwarded senders are rewritten into: the box's
// domain, else its first mail domain.
func srsDomain(p *provision.Pack) string {
	if p.Box.Domain != "" {
		return ascii(p.Box.Domain)
	}
	if len(p.Mail.Domains) > 0 {
		return ascii(p.Mail.Domains[0])
	}
	return origin(p)
}

// srsExclude keeps the box's own mail (alerts, the wiki) out of SRS when
// it is not of the SRS domain already: it is not forwarded mail.
func srsExclude(p *provision.Pack) string {
	if o := origin(p); o != srsDomain(p) {
		return " -X" + shQuote(o)
	}
	return ""
}

func ascii(d string) string {
	a, err := idna.Lookup.ToASCII(strings.TrimSuffix(d, "."))
	if err != nil {
		return strings.ToLower(d) // validated already; never reached
	}
	return a
}

const header = "# Rendered by Ruche from the pack: edits are overwritten at the next apply.\n"

// mainCF is Postfix's main.cf. The box receives only for mail.domains
// (virtual aliases, no local mailboxes), relays only for itself
// (loopback), and sends everything out through the relay when there is one.
func mainCF(in *provision.RenderInput, srs ports) string {
	p := in.Pack
	var b strings.Builder
	b.WriteString(header)
	set := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	set("compatibility_level", "3.6")
	set("queue_directory", in.Abs(QueueDir))
	set("data_directory", in.Abs(DataDir))
	set("mail_owner", "postfix")
	set("setgid_group", "postdrop")
	// Logs go to the supervisor (var/log/ruche/postfix.log, journald on a box).
	set("maillog_file", "/dev/stdout")
	set("myhostname", hostname(p))
	set("myorigin", origin(p))
	set("mydestination", "")
	set("alias_maps", "")
	set("alias_database", "")
	set("local_recipient_maps", "")
	set("inet_interfaces", "all")
	set("inet_protocols", "all")
	// Only the box itself may send anywhere: visitors' phones share its LAN.
	set("mynetworks", "127.0.0.1/32 [::1]/128")
	set("mynetworks_style", "host")
	var domains []string
	for _, d := range p.Mail.Domains {
		domains = append(domains, ascii(d))
	}
	set("virtual_alias_domains", strings.Join(domains, " "))
	set("virtual_alias_maps", "hash:"+in.Abs(ConfDir+"/virtual"))
	set("smtpd_relay_restrictions", "permit_mynetworks, reject_unauth_destination")
	set("smtpd_recipient_restrictions", "permit_mynetworks, reject_unauth_destination")
	// Refusals are 550 (permanent, "no such address here"), for unknown
	// domains as for unknown aliases.
	set("relay_domains_reject_code", "550")
	set("unknown_virtual_alias_reject_code", "550")
	set("smtpd_helo_required", "yes")
	set("disable_vrfy_command", "yes")
	set("smtpd_banner", "$myhostname ESMTP")
	set("message_size_limit", "26214400")
	set("biff", "no")
	set("append_dot_mydomain", "no")
	set("smtputf8_enable", "no")
	if len(p.Mail.Domains) > 0 {
		// SRS: forwarded mail leaves with a sender of the box's domain,
		// and bounces to that sender find their way back.
		set("sender_canonical_maps", fmt.Sprintf("tcp:127.0.0.1:%d", srs.forward))
		set("sender_canonical_classes", "envelope_sender")
		set("recipient_canonical_maps", fmt.Sprintf("tcp:127.0.0.1:%d", srs.reverse))
		set("recipient_canonical_classes", "envelope_recipient, header_recipient")
	}
	if r := p.Mail.Relay; r != nil {
		port := r.Port
		if port == 0 {
			port = provision.DefaultSMTPPort
		}
		set("relayhost", relayHost(r.Host, port))
		// The relay is reached over TLS, always (the password goes to it).
		set("smtp_tls_security_level", "encrypt")
		set("smtp_tls_CAfile", "/etc/ssl/certs/ca-certificates.crt")
		if port == 465 {
			set("smtp_tls_wrappermode", "yes")
		}
		if genericTable(p) != header {
			set("smtp_generic_maps", "hash:"+in.Abs(ConfDir+"/generic"))
		}
		if r.Username != "" {
			set("smtp_sasl_auth_enable", "yes")
			set("smtp_sasl_password_maps", "hash:"+in.Abs(ConfDir+"/sasl_passwd"))
			set("smtp_sasl_security_options", "noanonymous")
			set("smtp_sasl_tls_security_options", "noanonymous")
		}
	}
	return b.String()
}

// relayHost is relayhost's value: brackets turn off the MX lookup, which a
// smarthost does not want.
func relayHost(host string, port int) string {
	if strings.Contains(host, ":") { // IPv6
		return fmt.Sprintf("[ipv6:%s]:%d", host, port)
	}
	return fmt.Sprintf("[%s]:%d", ascii(host), port)
}

// masterCF is Postfix's master.cf: Debian's services, with no chroot (the
// instance's paths are under the root) and smtpd on the --smtp address.
func masterCF(listen string) string {
	rows := [][7]string{
		{listen, "inet", "n", "-", "n", "-", "-"},
		{"pickup", "unix", "n", "-", "n", "60", "1"},
		{"cleanup", "unix", "n", "-", "n", "-", "0"},
		{"qmgr", "unix", "n", "-", "n", "300", "1"},
		{"tlsmgr", "unix", "-", "-", "n", "1000?", "1"},
		{"rewrite", "unix", "-", "-", "n", "-", "-"},
		{"bounce", "unix", "-", "-", "n", "-", "0"},
		{"defer", "unix", "-", "-", "n", "-", "0"},
		{"trace", "unix", "-", "-", "n", "-", "0"},
		{"verify", "unix", "-", "-", "n", "-", "1"},
		{"flush", "unix", "n", "-", "n", "1000?", "0"},
		{"proxymap", "unix", "-", "-", "n", "-", "-"},
		{"proxywrite", "unix", "-", "-", "n", "-", "1"},
		{"smtp", "unix", "-", "-", "n", "-", "-"},
		{"relay", "unix", "-", "-", "n", "-", "-"},
		{"showq", "unix", "n", "-", "n", "-", "-"},
		{"error", "unix", "-", "-", "n", "-", "-"},
		{"retry", "unix", "-", "-", "n", "-", "-"},
		{"discard", "unix", "-", "-", "n", "-", "-"},
		{"local", "unix", "-", "n", "n", "-", "-"},
		{"virtual", "unix", "-", "n", "n", "-", "-"},
		{"lmtp", "unix", "-", "-", "n", "-", "-"},
		{"anvil", "unix", "-", "-", "n", "-", "1"},
		{"scache", "unix", "-", "-", "n", "-", "1"},
		{"postlog", "unix-dgram", "n", "-", "n", "-", "1"},
	}
	cmds := map[string]string{"rewrite": "trivial-rewrite", "defer": "bounce", "trace": "bounce",
		"proxywrite": "proxymap", "relay": "smtp", "retry": "error", "postlog": "postlogd", listen: "smtpd"}
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("# service type  private unpriv  chroot  wakeup  maxproc command\n")
	for _, r := range rows {
		cmd := cmds[r[0]]
		if cmd == "" {
			cmd = r[0]
		}
		fmt.Fprintf(&b, "%-10s %-10s %s %s %s %s %s %s\n", r[0], r[1], r[2], r[3], r[4], r[5], r[6], cmd)
	}
	return b.String()
}

// virtualTable is the source of virtual_alias_maps: each alias with its
// recipients, panel logins replaced by their users' e-mails. Postfix
// expands an alias that points to another alias by itself. postmaster@
// and abuse@ of every mail domain, and postmaster of the box's own name,
// reach the admins unless the pack says otherwise (RFC 5321 wants a
// postmaster, and Postfix sends its own notices there).
func virtualTable(p *provision.Pack) string {
	email := map[string]string{}
	var admins []string
	for _, u := range p.Panel.Users {
		email[u.Login] = u.Email
		if u.Role == provision.RoleAdmin && u.Email != "" && !u.Disabled {
			admins = append(admins, u.Email)
		}
	}
	var b strings.Builder
	b.WriteString(header)
	defined := map[string]bool{}
	for _, a := range p.Mail.Aliases {
		key, ok := provision.EmailASCII(a.Address)
		if !ok {
			continue // validated already; never reached
		}
		defined[key] = true
		var to []string
		for _, r := range a.To {
			if e, isLogin := email[r]; isLogin && !strings.Contains(r, "@") {
				r = e
			}
			if k, ok := provision.EmailASCII(r); ok {
				r = k
			}
			if r != "" && !slices.Contains(to, r) {
				to = append(to, r)
			}
		}
		fmt.Fprintf(&b, "%s %s\n", key, strings.Join(to, ", "))
	}
	if len(admins) > 0 {
		wanted := []string{"postmaster@" + origin(p), "root@" + origin(p)}
		for _, d := range p.Mail.Domains {
			wanted = append(wanted, "postmaster@"+ascii(d), "abuse@"+ascii(d))
		}
		for _, w := range wanted {
			if !defined[w] {
				defined[w] = true
				fmt.Fprintf(&b, "%s %s\n", w, strings.Join(admins, ", "))
			}
		}
	}
	return b.String()
}

// genericTable rewrites, on the way out to the relay, the box's own
// addresses when they are under <hostname>.local (a box without
// box.domain): no relay accepts a sender it cannot route a bounce to, and
// most insist on the account they authenticate. Its mail (alerts, the
// wiki) then leaves as the relay's account.
func genericTable(p *provision.Pack) string {
	r := p.Mail.Relay
	if r == nil || p.Box.Domain != "" || !strings.Contains(r.Username, "@") {
		return header
	}
	account, ok := provision.EmailASCII(r.Username)
	if !ok {
		return header
	}
	return header + "@" + origin(p) + " " + account + "\n"
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// activateScript installs the staged configuration into the instance's
// config_directory, checked first ("start" before Postfix starts, "reload"
// while it runs). See the package comment.
func activateScript(in *provision.RenderInput) string {
	p := in.Pack
	stage, conf := in.Abs(StageDir), in.Abs(ConfDir)
	var relay string
	maps := "virtual generic"
	if r := p.Mail.Relay; r != nil && r.Username != "" {
		port := r.Port
		if port == 0 {
			port = provision.DefaultSMTPPort
		}
		// The password is read from its secret file here, at activation,
		// so that it never appears in what Ruche renders or logs.
		relay = fmt.Sprintf(`secret=%s
[ -r "$secret" ] || { echo "mail: the relay's password file $secret is missing" >&2; exit 1; }
pw=$(cat "$secret")
(umask 077; printf '%%s %%s:%%s\n' %s %s "$pw" > "$new/sasl_passwd")
`, shQuote(in.Abs(provision.SecretsDir+"/"+r.PasswordSecret)), shQuote(relayHost(r.Host, port)), shQuote(r.Username))
		maps += " sasl_passwd"
	}
	return fmt.Sprintf(`#!/bin/sh
%s# Installs the rendered Postfix configuration (%s) into the instance's
# config_directory (%s), after `+"`postfix check`"+` on a candidate copy.
#   activate.sh start    before Postfix starts
#   activate.sh reload   when the pack changed: check, install, postfix reload
set -eu
stage=%s
conf=%s
new="$conf.new"
mkdir -p "$conf" %s %s
chown postfix %s
chmod 0700 %s
# Postfix's daemons, as the postfix user, reach their folders: the
# system's folders above them are world-traversable on a box already and
# are made so under a development root.
chmod o+x %s
if [ "${1:-start}" = start ] && %s -c "$conf" status >/dev/null 2>&1; then
	echo "mail: stopping a Postfix left running by a previous ruche" >&2
	%s -c "$conf" stop >/dev/null 2>&1 || true
	%s
fi
rm -rf "$new"
mkdir -m 0755 "$new"
cp "$stage/main.cf" "$stage/master.cf" "$stage/virtual" "$stage/generic" "$new/"
%sfor m in %s; do %s "hash:$new/$m"; done
[ ! -e "$new/sasl_passwd" ] || chmod 0600 "$new/sasl_passwd" "$new/sasl_passwd.db"
if ! out=$(%s -c "$new" check 2>&1); then
	echo "mail: postfix check refused the new configuration; the running one stays:" >&2
	echo "$out" >&2
	rm -rf "$new"
	exit 1
fi
# One rename per file: the tables first, main.cf last.
for f in virtual.db generic.db sasl_passwd.db virtual generic sasl_passwd master.cf main.cf; do
	if [ -e "$new/$f" ]; then mv -f "$new/$f" "$conf/$f"; else rm -f "$conf/$f"; fi
done
rm -rf "$new"
if [ "${1:-start}" = reload ] && %s -c "$conf" status >/dev/null 2>&1; then
	%s -c "$conf" reload
fi
`, header, stage, conf, shQuote(stage), shQuote(conf), shQuote(in.Abs(QueueDir)), shQuote(in.Abs(DataDir)),
		shQuote(in.Abs(DataDir)), shQuote(in.Abs(DataDir)),
		shQuote(in.Abs("var"))+" "+shQuote(in.Abs("var/lib"))+" "+shQuote(in.Abs("var/spool")),
		Postfix, Postfix, waitStopped(`"$conf"`), relay, maps, Postmap, Postfix, Postfix, Postfix)
}
