package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// BcryptCost is the cost of the password hashes. DokuWiki verifies bcrypt,
// so the wiki shares the panel's hashes.
const BcryptCost = 10

// Password length limits: bcrypt reads at most 72 bytes.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 72
)

// dummyHash is compared against when a login has no usable hash, so that an
// unknown login costs the same time as a wrong password. It is a bcrypt hash,
// at BcryptCost, of a random string nobody kept.
const dummyHash = "$2a$10$BoRinW810n70fpFIJxJ1A.VRccbTLt65P9x4HSSnp2zF8ClP1w37W"

// User is a panel user as the database knows it: the pack's fields and the
// box's own state. It never carries the password hash.
type User struct {
	provision.User
	HasPassword   bool
	PasswordSetAt time.Time // zero when no password was ever set
	Disabled      bool
	RemovedAt     time.Time // zero while the pack names the user
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Removed reports whether the pack no longer names the user.
func (u *User) Removed() bool { return !u.RemovedAt.IsZero() }

// Errors callers test with errors.Is. Their messages name no password and
// no hash.
var (
	ErrNoSuchUser = i18n.Errorf(i18n.M{
		FR: "utilisateur inconnu",
		EN: "no such user",
	})
	ErrBadCredentials = i18n.Errorf(i18n.M{
		FR: "identifiant ou mot de passe incorrect",
		EN: "wrong login or password",
	})
	ErrDisabled = i18n.Errorf(i18n.M{
		FR: "compte désactivé",
		EN: "account disabled",
	})
	ErrBadPassword = i18n.Errorf(i18n.M{
		FR: "mot de passe refusé",
		EN: "password refused",
	})
	ErrBadUsers = i18n.Errorf(i18n.M{
		FR: "liste d'utilisateurs invalide",
		EN: "invalid user list",
	})
)

// detailError is one of the errors above with the details of one case:
// errors.Is matches the sentinel, the message says which login, which limit.
type detailError struct {
	is  error
	msg i18n.M
	arg []any
}

func (e *detailError) Error() string                  { return e.Localize(i18n.FR) }
func (e *detailError) Localize(lang i18n.Lang) string { return e.msg.Sprintf(lang, e.arg...) }
func (e *detailError) Is(target error) bool           { return target == e.is }
func newDetailError(is error, m i18n.M, arg ...any) error {
	return &detailError{is: is, msg: m, arg: arg}
}

var (
	msgNoSuchUser = i18n.M{
		FR: "utilisateur %q inconnu (ou retiré du pack)",
		EN: "no such user %q (or removed from the pack)",
	}
	msgTooShort = i18n.M{
		FR: "mot de passe trop court : %d caractères, il en faut au moins %d",
		EN: "password too short: %d characters, at least %d needed",
	}
	msgTooLong = i18n.M{
		FR: "mot de passe trop long : %d octets, %d au plus (limite de bcrypt)",
		EN: "password too long: %d bytes, at most %d (bcrypt's limit)",
	}
	msgEmptyLogin = i18n.M{
		FR: "panel.users[%d] : identifiant vide",
		EN: "panel.users[%d]: empty login",
	}
	msgDupLogin = i18n.M{
		FR: "panel.users[%d] : identifiant %q en double",
		EN: "panel.users[%d]: duplicate login %q",
	}
	msgBadRole = i18n.M{
		FR: "panel.users[%d] : rôle %q inconnu (admin, technician ou member)",
		EN: "panel.users[%d]: unknown role %q (admin, technician or member)",
	}
	msgUnreadableHash = i18n.M{
		FR: "l'empreinte du mot de passe de %q est illisible ; redéfinissez-le",
		EN: "the password hash of %q is unreadable; set the password again",
	}
)

func validRole(r string) bool {
	return r == provision.RoleAdmin || r == provision.RoleTechnician || r == provision.RoleMember
}

// checkUsers refuses a list SyncUsers cannot mirror faithfully. The pack's
// validation says it first and better; this guards other callers.
func checkUsers(users []provision.User) error {
	seen := make(map[string]bool, len(users))
	for i, u := range users {
		switch {
		case u.Login == "":
			return newDetailError(ErrBadUsers, msgEmptyLogin, i)
		case seen[u.Login]:
			return newDetailError(ErrBadUsers, msgDupLogin, i, u.Login)
		case !validRole(u.Role):
			return newDetailError(ErrBadUsers, msgBadRole, i, u.Role)
		}
		seen[u.Login] = true
	}
	return nil
}

// SyncUsers makes the users table match the pack's panel.users: it inserts
// new logins, updates the name, email, role or disabled flag that changed, and marks the
// logins the pack no longer names as removed. A removed user is never
// deleted (tickets and history keep their author) but loses its password
// hash; a login that comes back is un-removed and needs a new password. When nothing differs SyncUsers
// writes nothing at all. It returns the number of rows it changed.
func (db *DB) SyncUsers(ctx context.Context, users []provision.User) (changed int, err error) {
	if err := checkUsers(users); err != nil {
		return 0, err
	}
	tx, err := db.sql.BeginTx(ctx, nil) // IMMEDIATE: nobody changes users under us
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	type row struct {
		name, email, role string
		disabled, removed bool
	}
	have := map[string]row{}
	rows, err := tx.QueryContext(ctx, `SELECT login, name, email, role, disabled, removed_at IS NOT NULL FROM users`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var login string
		var r row
		if err := rows.Scan(&login, &r.name, &r.email, &r.role, &r.disabled, &r.removed); err != nil {
			rows.Close()
			return 0, err
		}
		have[login] = r
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}

	now := db.stamp()
	exec := func(query string, args ...any) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed += int(n)
		return err
	}
	want := make(map[string]bool, len(users))
	for _, u := range users {
		want[u.Login] = true
		r, ok := have[u.Login]
		switch {
		case !ok:
			err = exec(`INSERT INTO users (login, name, email, role, disabled, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Login, u.Name, u.Email, u.Role, u.Disabled, now, now)
		case r.name != u.Name || r.email != u.Email || r.role != u.Role || r.disabled != u.Disabled || r.removed:
			// A disabled user keeps the password hash: re-enabled, the
			// volunteer who came back logs in as before. Their sessions
			// end at their next request (the panel reads disabled).
			err = exec(`UPDATE users SET name = ?, email = ?, role = ?, disabled = ?, removed_at = NULL, updated_at = ?
				WHERE login = ?`, u.Name, u.Email, u.Role, u.Disabled, now, u.Login)
		}
		if err != nil {
			return 0, err
		}
	}
	var gone []string
	for login, r := range have {
		if !want[login] && !r.removed {
			gone = append(gone, login)
		}
	}
	slices.Sort(gone)
	// A removed login loses its password: associations hand logins such as
	// "tech1" on to the next volunteer, who must not inherit the old one.
	for _, login := range gone {
		if err := exec(`UPDATE users SET removed_at = ?, updated_at = ?, password_hash = NULL, password_set_at = NULL WHERE login = ?`, now, now, login); err != nil {
			return 0, err
		}
	}
	if changed == 0 {
		return 0, nil // the deferred rollback ends a transaction that wrote nothing
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return changed, nil
}

// checkPassword refuses what bcrypt or the users could not live with.
func checkPassword(password []byte) error {
	if n := utf8.RuneCount(password); n < MinPasswordChars {
		return newDetailError(ErrBadPassword, msgTooShort, n, MinPasswordChars)
	}
	if len(password) > MaxPasswordBytes {
		return newDetailError(ErrBadPassword, msgTooLong, len(password), MaxPasswordBytes)
	}
	return nil
}

// SetPassword sets the password of a user the pack names (disabled or not).
// An unknown or removed login gives ErrNoSuchUser; a password shorter than
// MinPasswordChars characters or longer than MaxPasswordBytes bytes gives
// ErrBadPassword.
func (db *DB) SetPassword(ctx context.Context, login string, password []byte) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword(password, BcryptCost)
	if err != nil {
		return err
	}
	now := db.stamp()
	res, err := db.sql.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_set_at = ?, updated_at = ?
		WHERE login = ? AND removed_at IS NULL`, string(hash), now, now, login)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return newDetailError(ErrNoSuchUser, msgNoSuchUser, login)
	}
	return nil
}

// CheckPassword returns the user when password is theirs. A wrong password,
// an unknown or removed login and a login without a password all give
// ErrBadCredentials, after the same bcrypt work; a disabled account with the
// right password gives ErrDisabled.
func (db *DB) CheckPassword(ctx context.Context, login string, password []byte) (User, error) {
	u, hash, err := db.user(ctx, login)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (u.Removed() || hash == "") {
		bcrypt.CompareHashAndPassword([]byte(dummyHash), password)
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	switch err := bcrypt.CompareHashAndPassword([]byte(hash), password); {
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
		return User{}, ErrBadCredentials
	case err != nil:
		// Not the cause: bcrypt's errors quote bytes of the hash.
		return User{}, i18n.Errorf(msgUnreadableHash, login)
	}
	if u.Disabled {
		return User{}, ErrDisabled
	}
	return u, nil
}

const userColumns = `login, name, email, role, password_hash, password_set_at, disabled, removed_at, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

// scanUser reads one row of userColumns.
func scanUser(s scanner) (User, string, error) {
	var (
		u                      User
		hash, setAt, removedAt sql.NullString
		createdAt, updatedAt   string
	)
	err := s.Scan(&u.Login, &u.Name, &u.Email, &u.Role, &hash, &setAt, &u.Disabled, &removedAt, &createdAt, &updatedAt)
	if err != nil {
		return User{}, "", err
	}
	u.HasPassword = hash.Valid && hash.String != ""
	var errs [4]error
	u.PasswordSetAt, errs[0] = parseTime(setAt)
	u.RemovedAt, errs[1] = parseTime(removedAt)
	u.CreatedAt, errs[2] = parseTime(sql.NullString{String: createdAt, Valid: true})
	u.UpdatedAt, errs[3] = parseTime(sql.NullString{String: updatedAt, Valid: true})
	return u, hash.String, errors.Join(errs[:]...)
}

func (db *DB) user(ctx context.Context, login string) (User, string, error) {
	return scanUser(db.sql.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE login = ?`, login))
}

// Users returns every user the database knows, removed ones included (see
// User.Removed), by login.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY login`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		u, _, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// PasswordHashes maps the login of every active user (named by the pack,
// not disabled) that has a password to its bcrypt hash: render's input, for
// the wiki.
func (db *DB) PasswordHashes(ctx context.Context) (map[string]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT login, password_hash FROM users
		WHERE removed_at IS NULL AND disabled = 0 AND password_hash IS NOT NULL AND password_hash != ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hashes := map[string]string{}
	for rows.Next() {
		var login, hash string
		if err := rows.Scan(&login, &hash); err != nil {
			return nil, err
		}
		hashes[login] = hash
	}
	return hashes, rows.Err()
}
