package execsup

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		// Its own process group, so that stop signals reach the workers a
		// service forks, and none of them is left behind.
		Setpgid: true,
		// Children never outlive ruche, even when it is killed.
		Pdeathsig: syscall.SIGKILL,
	}
}

// Pdeathsig fires when the thread that forked the child ends, not the
// process (golang/go#27505), and Go ends a thread when a goroutine locked to
// it returns. Forking from one goroutine locked to its thread for good keeps
// children alive exactly as long as ruche.
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func startCmd(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: see spawner
			for r := range spawner.reqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawner.reqs <- spawnReq{cmd, errc}
	return <-errc
}

// waitExited blocks until process pid has exited, without reaping it
// (waitid with WNOWAIT): its PID stays reserved until cmd.Wait.
func waitExited(pid int) error {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t; only the return matters
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return errno
		}
	}
}
