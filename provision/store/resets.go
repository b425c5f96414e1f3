package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ruche-box/ruche/provision/i18n"
)

// Password resets by e-mail: a member who forgot their password asks the
// panel for a link, which goes to the e-mail address the pack gives them.
// The link's token is stored as its SHA-256 only (see sessions.go), works
// once, until its expiry, and only the link mailed last works.

// ErrBadResetToken is a reset link that is unknown, used, expired, or
// whose user was disabled or removed since it was sent.
var ErrBadResetToken = i18n.Errorf(i18n.M{
	FR: "lien de réinitialisation inconnu, déjà utilisé ou expiré",
	EN: "reset link unknown, already used or expired",
})

// NewPasswordReset makes a one-time token that sets login's password
// until expires, and returns it. The user's unused tokens made before are
// deleted: a mailbox read later, or a mail caught on its way, opens
// nothing once a newer link was asked for. An unknown or removed login is
// ErrNoSuchUser; a disabled one ErrDisabled (a volunteer who left gets no
// way back in by mail).
func (db *DB) NewPasswordReset(ctx context.Context, login string, now, expires time.Time) (string, error) {
	token, id, err := newToken()
	if err != nil {
		return "", err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	u, _, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE login = ?`, login))
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && u.Removed():
		return "", newDetailError(ErrNoSuchUser, msgNoSuchUser, login)
	case err != nil:
		return "", err
	case u.Disabled:
		return "", ErrDisabled
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE login = ? AND used_at IS NULL`, login); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (id, login, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		id, login, stamp(now), stamp(expires)); err != nil {
		return "", err
	}
	return token, tx.Commit()
}

// resetTokenUser is the user a reset token may still set the password of:
// unused, not expired, a user the pack names and not disabled.
func resetTokenUser(ctx context.Context, q queryRower, token string, now time.Time) (User, error) {
	user, _, err := oneTimeTokenUser(ctx, q, "password_resets", token, now, ErrBadResetToken)
	return user, err
}

// ResetTokenUser returns the user a reset token is for, when it may still
// be used at now; ErrBadResetToken otherwise.
func (db *DB) ResetTokenUser(ctx context.Context, token string, now time.Time) (User, error) {
	return resetTokenUser(ctx, db.sql, token, now)
}

// RedeemPasswordReset sets the password of the token's user, spends the
// token, deletes the user's other unused tokens and ends every session of
// theirs, in one transaction: a password reset because an account was
// taken over must close the intruder's sessions, and two tabs posting the
// same link set one password. It returns the user and how many sessions
// ended. The password follows the rules of SetPassword (ErrBadPassword),
// checked before the token is spent.
func (db *DB) RedeemPasswordReset(ctx context.Context, token string, password []byte, now time.Time) (User, int, error) {
	if err := checkPassword(password); err != nil {
		return User{}, 0, err
	}
	// A cheap look first: no bcrypt for made-up tokens.
	if _, err := db.ResetTokenUser(ctx, token, now); err != nil {
		return User{}, 0, err
	}
	hash, err := bcrypt.GenerateFromPassword(password, BcryptCost)
	if err != nil {
		return User{}, 0, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return User{}, 0, err
	}
	defer tx.Rollback()
	u, err := resetTokenUser(ctx, tx, token, now)
	if err != nil {
		return User{}, 0, err
	}
	at := stamp(now)
	if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE id = ?`, at, TokenID(token)); err != nil {
		return User{}, 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE login = ? AND used_at IS NULL`, u.Login); err != nil {
		return User{}, 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_set_at = ?, updated_at = ? WHERE login = ?`,
		string(hash), at, at, u.Login); err != nil {
		return User{}, 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE login = ?`, u.Login)
	if err != nil {
		return User{}, 0, err
	}
	ended, err := res.RowsAffected()
	if err != nil {
		return User{}, 0, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, 0, err
	}
	t := now.UTC().Truncate(time.Millisecond)
	u.HasPassword, u.PasswordSetAt, u.UpdatedAt = true, t, t
	return u, int(ended), nil
}
