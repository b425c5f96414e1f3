package provision

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked means another apply holds the lock (exit code 3).
var ErrLocked = errors.New("another apply is running")

// Lock is the apply lock: an flock on <root>/run/ruche/apply.lock. The kernel
// drops it when the process dies, so a crashed apply never leaves the box
// locked.
type Lock struct{ f *os.File }

// TryLock takes the apply lock without waiting; ErrLocked when it is held.
func TryLock(root string) (*Lock, error) {
	path := filepath.Join(root, "run/ruche/apply.lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
