//go:build unix && !linux

package execsup

import (
	"errors"
	"os/exec"
	"syscall"
)

// Outside Linux (a developer's Mac) there is no Pdeathsig: children may
// outlive a killed ruche.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }

// waitExited cannot wait without reaping here, so a crashed service's
// leftover processes are not killed: its group ID could be reused.
func waitExited(int) error { return errors.ErrUnsupported }
