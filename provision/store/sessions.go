package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ruche-box/ruche/provision/i18n"
)

// TokenBytes is the size of session and setup tokens: 256 random bits,
// beyond any guessing even at millions of tries a second.
const TokenBytes = 32

// Errors of sessions and setup links, for errors.Is.
var (
	ErrNoSession = i18n.Errorf(i18n.M{
		FR: "session inconnue ou terminée",
		EN: "unknown or ended session",
	})
	ErrBadSetupToken = i18n.Errorf(i18n.M{
		FR: "lien d'installation inconnu, déjà utilisé ou expiré",
		EN: "setup link unknown, already used or expired",
	})
)

// Session is a panel session as the database knows it, with its user's
// current state (a removed or disabled user, a password changed since the
// session began: the caller ends such a session).
type Session struct {
	// ID is the hex SHA-256 of the token: what the table is keyed by, and
	// what TouchSession and DeleteSession take. The token itself is known
	// only to the browser.
	ID        string
	Login     string
	CreatedAt time.Time
	LastSeen  time.Time
	User      User
}

// newToken returns a random token (unpadded base64url, 43 characters: safe
// in a cookie and a URL) and its id.
func newToken() (token, id string, err error) {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenID(token), nil
}

// TokenID is the id a token is stored under: its hex SHA-256.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// plausibleToken refuses what newToken cannot have made before the database
// is asked: a cookie or URL is whatever the client sent.
func plausibleToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(TokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// NewSession opens a session for login, a user the pack names, at now, and
// returns its token (for the cookie). The caller checked the password.
func (db *DB) NewSession(ctx context.Context, login string, now time.Time) (token string, err error) {
	token, id, err := newToken()
	if err != nil {
		return "", err
	}
	res, err := db.sql.ExecContext(ctx, `INSERT INTO sessions (id, login, created_at, last_seen)
		SELECT ?, login, ?, ? FROM users WHERE login = ? AND removed_at IS NULL`,
		id, stamp(now), stamp(now), login)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", err
	} else if n == 0 {
		return "", newDetailError(ErrNoSuchUser, msgNoSuchUser, login)
	}
	return token, nil
}

// userColumnsOf is userColumns qualified by a table alias, for joins.
const userColumnsOf = `u.login, u.name, u.email, u.role, u.password_hash, u.password_set_at, u.disabled, u.removed_at, u.created_at, u.updated_at`

// LookupSession returns the session of a token, with its user; ErrNoSession
// when there is none. It judges nothing (expiry, the user's state): the
// panel does, with its own clock and its rules.
func (db *DB) LookupSession(ctx context.Context, token string) (Session, error) {
	if !plausibleToken(token) {
		return Session{}, ErrNoSession
	}
	var s Session
	var created, seen string
	row := db.sql.QueryRowContext(ctx, `SELECT s.id, s.created_at, s.last_seen, `+userColumnsOf+`
		FROM sessions s JOIN users u ON u.login = s.login WHERE s.id = ?`, TokenID(token))
	var err error
	s.User, _, err = scanUser(withColumns{row, []any{&s.ID, &created, &seen}})
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	s.Login = s.User.Login
	var errs [2]error
	s.CreatedAt, errs[0] = time.Parse(timeLayout, created)
	s.LastSeen, errs[1] = time.Parse(timeLayout, seen)
	return s, errors.Join(errs[:]...)
}

// TouchSession records that a session was used at now (its idle expiry
// starts again).
func (db *DB) TouchSession(ctx context.Context, id string, now time.Time) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ?`, stamp(now), id)
	return err
}

// DeleteSession ends one session; ending one that is gone already is no
// error.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	return err
}

// DeleteUserSessions ends every session of login and returns how many.
func (db *DB) DeleteUserSessions(ctx context.Context, login string) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM sessions WHERE login = ?`, login)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredSessions deletes the sessions last seen before idleBefore
// or opened before openedBefore, and returns how many: they would be
// refused anyway, this keeps the table small.
func (db *DB) DeleteExpiredSessions(ctx context.Context, idleBefore, openedBefore time.Time) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen < ? OR created_at < ?`,
		stamp(idleBefore), stamp(openedBefore))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LookupUser returns one user, removed or not; ErrNoSuchUser when the
// database never knew the login.
func (db *DB) LookupUser(ctx context.Context, login string) (User, error) {
	u, _, err := db.user(ctx, login)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, newDetailError(ErrNoSuchUser, msgNoSuchUser, login)
	}
	return u, err
}

// NewSetupToken makes a one-time link token that sets login's password,
// valid until expires, and returns it. Every unused token made before is
// withdrawn: only the link printed last works.
func (db *DB) NewSetupToken(ctx context.Context, login string, now, expires time.Time) (string, error) {
	token, id, err := newToken()
	if err != nil {
		return "", err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE used_at IS NULL`); err != nil {
		return "", err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (id, login, created_at, expires_at)
		SELECT ?, login, ?, ? FROM users WHERE login = ? AND removed_at IS NULL`,
		id, stamp(now), stamp(expires), login)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", err
	} else if n == 0 {
		return "", newDetailError(ErrNoSuchUser, msgNoSuchUser, login)
	}
	return token, tx.Commit()
}

// queryRower is what both *sql.DB and *sql.Tx offer for one row.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// setupTokenUser is the user a token may still set the password of:
// unused, not expired, a user the pack names, not disabled, without a
// password yet (a link seen on a console must not take over an account
// whose owner has set a password meanwhile).
func setupTokenUser(ctx context.Context, q queryRower, token string, now time.Time) (User, error) {
	user, hash, err := oneTimeTokenUser(ctx, q, "setup_tokens", token, now, ErrBadSetupToken)
	if err == nil && hash != "" {
		return User{}, ErrBadSetupToken
	}
	return user, err
}

// oneTimeTokenUser is the user a one-time link's token (in table:
// setup_tokens or password_resets, whose rows have the same columns) is
// for, with their password hash, when the token is unused and not expired
// at now and the user is in the pack and not disabled; bad otherwise.
func oneTimeTokenUser(ctx context.Context, q queryRower, table, token string, now time.Time, bad error) (User, string, error) {
	if !plausibleToken(token) {
		return User{}, "", bad
	}
	var expires string
	var used sql.NullString
	row := q.QueryRowContext(ctx, `SELECT t.expires_at, t.used_at, `+userColumnsOf+`
		FROM `+table+` t JOIN users u ON u.login = t.login WHERE t.id = ?`, TokenID(token))
	user, hash, err := scanUser(withColumns{row, []any{&expires, &used}})
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", bad
	}
	if err != nil {
		return User{}, "", err
	}
	exp, err := time.Parse(timeLayout, expires)
	if err != nil {
		return User{}, "", err
	}
	if used.Valid || !now.Before(exp) || user.Removed() || user.Disabled {
		return User{}, "", bad
	}
	return user, hash, nil
}

// SetupTokenUser returns the user a setup token is for, when it may still
// be used at now; ErrBadSetupToken otherwise.
func (db *DB) SetupTokenUser(ctx context.Context, token string, now time.Time) (User, error) {
	return setupTokenUser(ctx, db.sql, token, now)
}

// RedeemSetupToken sets the password of the token's user and spends the
// token, in one transaction: two tabs posting the same link at once set
// one password, the other gets ErrBadSetupToken. The password follows the
// rules of SetPassword (ErrBadPassword), checked before the token is spent.
func (db *DB) RedeemSetupToken(ctx context.Context, token string, password []byte, now time.Time) (User, error) {
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	// A cheap look first: bcrypt costs tens of milliseconds of a small
	// box's CPU, not to be spent on made-up tokens.
	if _, err := db.SetupTokenUser(ctx, token, now); err != nil {
		return User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword(password, BcryptCost)
	if err != nil {
		return User{}, err
	}
	tx, err := db.sql.BeginTx(ctx, nil) // IMMEDIATE: the check and the writes see the same rows
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	u, err := setupTokenUser(ctx, tx, token, now)
	if err != nil {
		return User{}, err
	}
	at := stamp(now)
	if _, err := tx.ExecContext(ctx, `UPDATE setup_tokens SET used_at = ? WHERE id = ?`, at, TokenID(token)); err != nil {
		return User{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_set_at = ?, updated_at = ? WHERE login = ?`,
		string(hash), at, at, u.Login); err != nil {
		return User{}, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, err
	}
	u.HasPassword, u.PasswordSetAt, u.UpdatedAt = true, now.UTC().Truncate(time.Millisecond), now.UTC().Truncate(time.Millisecond)
	return u, nil
}

// withColumns is a row whose first columns are read into before, the
// rest by scanUser: queries that read a user beside other columns share
// scanUser's parsing.
type withColumns struct {
	row    scanner
	before []any
}

func (w withColumns) Scan(dest ...any) error {
	return w.row.Scan(append(w.before, dest...)...)
}
