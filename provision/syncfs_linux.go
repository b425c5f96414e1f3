package provision

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the whole filesystem that holds dir (syncfs(2)): every
// file written and renamed there is durable when it returns.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
