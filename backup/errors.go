package backup

import (
	"errors"
	"regexp"
	"strings"

	"github.com/ruche-box/ruche/provision/i18n"
)

// Kinds of failure, for errors.Is on an *Error. Each has its plain words in
// French and English (Error.Localize).
var (
	ErrWrongPassword = errors.New("backup: wrong password")
	ErrRepoMissing   = errors.New("backup: repository does not exist")
	ErrLocked        = errors.New("backup: repository locked")
	ErrUnreachable   = errors.New("backup: target unreachable")
	ErrHostKey       = errors.New("backup: server host key does not match the pinned one")
	ErrAuth          = errors.New("backup: server refused the key")
	ErrDiskMissing   = errors.New("backup: removable disk missing")
	ErrPartial       = errors.New("backup: some files could not be read")
	ErrNoBinary      = errors.New("backup: restic not found")
	ErrInterrupted   = errors.New("backup: interrupted")
	ErrCheckFailed   = errors.New("backup: repository check found errors")
	ErrConfig        = errors.New("backup: target cannot be used as configured")
	// ErrBusy means another backup of the box is running.
	ErrBusy = errors.New("backup: another backup is running")
)

// Error is a failed restic command or an unusable target.
type Error struct {
	// Kind is one of the Err* values above, or nil for another failure.
	Kind error
	// Command is restic's command ("backup", "init"), empty when restic
	// did not run.
	Command string
	// Repository is where, passwords hidden (Repo.Display).
	Repository string
	// Code is restic's exit code; -1 when it did not exit by itself or
	// did not run.
	Code int
	// Message is restic's own words (its exit_error message, or the end
	// of its standard error), or the detail of a check done before
	// restic ran.
	Message string
	// Files lists the files a backup could not read (ErrPartial).
	Files []FileError
	// Err is the underlying Go error, if any.
	Err error
}

// Unwrap lets errors.Is find Kind, then the underlying error.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Error answers in French, the default.
func (e *Error) Error() string { return e.Localize(i18n.FR) }

var (
	msgWrongPassword = i18n.M{
		FR: "le mot de passe n'ouvre pas le dépôt %s : le secret nommé par backup.password_secret n'est pas celui avec lequel ce dépôt a été créé",
		EN: "the password does not open the repository %s: the secret named by backup.password_secret is not the one this repository was created with",
	}
	msgRepoMissing = i18n.M{
		FR: "il n'y a pas de dépôt de sauvegarde à %s",
		EN: "there is no backup repository at %s",
	}
	msgLocked = i18n.M{
		FR: "le dépôt %s est verrouillé par une autre opération en cours (sauvegarde, vérification, restauration) ; réessayez quand elle aura fini",
		EN: "the repository %s is locked by another operation in progress (backup, check, restore); try again when it has finished",
	}
	msgUnreachable = i18n.M{
		FR: "la cible %s est injoignable : vérifiez le réseau, l'adresse et que le serveur est allumé",
		EN: "the target %s cannot be reached: check the network, the address and that the server is on",
	}
	msgHostKey = i18n.M{
		FR: "le serveur de %s ne présente pas la clé d'hôte épinglée dans le pack (host_key) : par sécurité rien n'a été envoyé ; si le serveur a vraiment changé, mettez sa nouvelle clé dans le pack",
		EN: "the server of %s does not show the host key pinned in the pack (host_key): for safety nothing was sent; if the server really changed, put its new key in the pack",
	}
	msgAuth = i18n.M{
		FR: "le serveur de %s refuse la clé SSH de la box (key_secret) : ajoutez sa clé publique aux clés autorisées du serveur",
		EN: "the server of %s refuses the box's SSH key (key_secret): add its public key to the server's authorized keys",
	}
	msgDiskMissing = i18n.M{
		FR: "disque absent : %s n'est pas sur un disque branché et monté",
		EN: "disk missing: %s is not on a plugged-in, mounted disk",
	}
	msgPartial = i18n.M{
		FR: "sauvegarde incomplète dans %s : %d fichier(s) n'ont pas pu être lus",
		EN: "incomplete backup in %s: %d file(s) could not be read",
	}
	msgNoBinary = i18n.M{
		FR: "restic est introuvable (%s) : installez-le (make bin/restic) ou donnez son chemin avec --restic ou RUCHE_RESTIC",
		EN: "restic is missing (%s): install it (make bin/restic) or give its path with --restic or RUCHE_RESTIC",
	}
	msgInterrupted = i18n.M{
		FR: "interrompu : %s n'a pas été terminé",
		EN: "interrupted: %s was not finished",
	}
	msgCheckFailed = i18n.M{
		FR: "la vérification du dépôt %s a trouvé des erreurs",
		EN: "the check of the repository %s found errors",
	}
	msgConfig = i18n.M{
		FR: "la cible %s ne peut pas être utilisée ainsi : %s",
		EN: "the target %s cannot be used as it is: %s",
	}
	msgFailed = i18n.M{
		FR: "restic %s a échoué sur %s (code %d)",
		EN: "restic %s failed on %s (code %d)",
	}
	msgBusy = i18n.M{
		FR: "une autre sauvegarde de la box est en cours ; réessayez quand elle aura fini",
		EN: "another backup of the box is running; try again when it has finished",
	}
	msgResticSays = i18n.M{FR: "restic dit : %s", EN: "restic says: %s"}
	msgDetail     = i18n.M{FR: "détail : %s", EN: "detail: %s"}
)

// Localize says what went wrong in lang, then restic's own words when they
// add something.
func (e *Error) Localize(lang i18n.Lang) string {
	var s string
	withDetail := true
	switch e.Kind {
	case ErrWrongPassword:
		s, withDetail = msgWrongPassword.Sprintf(lang, e.Repository), false
	case ErrRepoMissing:
		s, withDetail = msgRepoMissing.Sprintf(lang, e.Repository), false
	case ErrLocked:
		s = msgLocked.Sprintf(lang, e.Repository)
	case ErrUnreachable:
		s = msgUnreachable.Sprintf(lang, e.Repository)
	case ErrHostKey:
		s = msgHostKey.Sprintf(lang, e.Repository)
	case ErrAuth:
		s = msgAuth.Sprintf(lang, e.Repository)
	case ErrDiskMissing:
		s, withDetail = msgDiskMissing.Sprintf(lang, e.Repository), false
	case ErrPartial:
		s, withDetail = msgPartial.Sprintf(lang, e.Repository, len(e.Files)), false
		var names []string
		for _, f := range e.Files {
			names = append(names, f.Path)
		}
		if len(names) > 0 {
			s += " (" + strings.Join(names, ", ") + ")"
		}
	case ErrNoBinary:
		s, withDetail = msgNoBinary.Sprintf(lang, e.Message), false
	case ErrInterrupted:
		s, withDetail = msgInterrupted.Sprintf(lang, e.Repository), false
	case ErrBusy:
		s, withDetail = msgBusy.In(lang), false
	case ErrCheckFailed:
		s = msgCheckFailed.Sprintf(lang, e.Repository)
	case ErrConfig:
		reason := e.Message
		if e.Err != nil {
			reason = i18n.Localize(e.Err, lang)
		}
		s, withDetail = msgConfig.Sprintf(lang, e.Repository, reason), false
	default:
		s = msgFailed.Sprintf(lang, e.Command, e.Repository, e.Code)
		if e.Message == "" && e.Err != nil {
			return s + ": " + e.Err.Error()
		}
	}
	if withDetail && e.Message != "" {
		// Words from a check made before restic ran are not restic's.
		said := msgResticSays
		if e.Command == "" {
			said = msgDetail
		}
		s += " — " + said.Sprintf(lang, e.Message)
	}
	return s
}

// reSubprocess is how restic prefixes the lines of ssh ("subprocess
// /usr/bin/ssh: ...").
var reSubprocess = regexp.MustCompile(`^subprocess [^ :]+: `)

// classify turns a failed restic run into an *Error: the exit code first
// (restic 0.17+), then restic's and ssh's words for code 1, which is also
// how restic 0.14 reported a missing repository, a wrong password or a
// lock.
func classify(cmd, repo string, code int, stderr string, stdoutLines []string) *Error {
	e := &Error{Command: cmd, Repository: repo, Code: code}
	exitMsg, hasExit := parseExitError(stderr)
	var plain, ssh []string
	scanLines(stderr, func(line string) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "{"):
		case reSubprocess.MatchString(line):
			// ssh's own words, which restic relays.
			ssh = append(ssh, reSubprocess.ReplaceAllString(line, ""))
		default:
			plain = append(plain, line)
		}
	})
	plain = append(plain, stdoutLines...)
	switch {
	case hasExit:
		e.Message = exitMsg.Message
	case len(plain) > 0:
		e.Message = strings.Join(lastN(plain, 3), "; ")
	}
	e.Message = oneLine(e.Message)
	all := strings.Join(ssh, "\n") + "\n" + strings.Join(plain, "\n") + "\n" + e.Message
	switch code {
	case ExitPartial:
		e.Kind = ErrPartial
	case ExitRepoMissing:
		e.Kind = ErrRepoMissing
	case ExitLockFailed:
		e.Kind = ErrLocked
	case ExitWrongPassword:
		e.Kind = ErrWrongPassword
	case ExitInterrupted:
		e.Kind = ErrInterrupted
	default:
		e.Kind = kindFromWords(all)
		if len(ssh) > 0 && (e.Kind == ErrHostKey || e.Kind == ErrAuth || e.Kind == ErrUnreachable) {
			// ssh's last line says more than restic's "unable to
			// start the sftp session".
			e.Message = "ssh: " + oneLine(ssh[len(ssh)-1])
		}
	}
	return e
}

// kindFromWords recognises a failure by its words, for restic's code 1.
func kindFromWords(s string) error {
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case has("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED", "host key for", "No ED25519 host key is known", "No RSA host key is known", "No ECDSA host key is known"):
		return ErrHostKey
	case has("Permission denied (publickey", "Too many authentication failures"):
		return ErrAuth
	case has("connection refused", "Connection refused", "no such host", "Could not resolve hostname",
		"Name or service not known", "i/o timeout", "Connection timed out", "connection timed out",
		"network is unreachable", "Network is unreachable", "no route to host", "No route to host",
		"connection reset by peer", "Connection reset by peer", "Connection closed by", "TLS handshake timeout"):
		return ErrUnreachable
	case has("wrong password or no key found"):
		return ErrWrongPassword
	case has("Is there a repository at the following location?", "repository does not exist"):
		return ErrRepoMissing
	case has("repository is already locked"):
		return ErrLocked
	}
	return nil
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// oneLine makes restic's multi-line message fit a report line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "Fatal: ")
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	s = strings.Join(fields, " / ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// configError is a target the pack describes in a way that cannot work
// (no host key pinned, a secret missing); reason says why, in both
// languages.
func configError(repo string, reason error) *Error {
	return &Error{Kind: ErrConfig, Repository: repo, Code: -1, Err: reason}
}
