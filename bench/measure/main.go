// Command measure runs a command and prints one JSON line with what it cost:
// wall seconds, user and system CPU seconds, and peak RSS.
//
//	measure -name auditship -- bin/auditship agent --once --config c.hcl
//	measure -name rsyslog -until out.json:700000 -timeout 600s -- rsyslogd -n -f c.conf
//
// Without -until the command runs to its end and the numbers come from
// wait4's rusage (all threads, waited-for children included). With -until
// FILE:N the command is a daemon: measure polls FILE until it holds N
// newline-terminated lines, reads the CPU time the process has used so far
// from /proc/PID/stat, then sends SIGTERM (SIGKILL after 10 s); wall time ends
// when FILE reached N lines. Peak RSS is always wait4's ru_maxrss.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type result struct {
	Name      string  `json:"name"`
	WallS     float64 `json:"wall_s"`
	UserS     float64 `json:"user_s"`
	SysS      float64 `json:"sys_s"`
	CPUS      float64 `json:"cpu_s"`
	MaxRSSKiB int64   `json:"max_rss_kib"`
	Exit      int     `json:"exit"`
	Lines     int64   `json:"lines,omitempty"`
	TimedOut  bool    `json:"timed_out,omitempty"`
}

func main() {
	name := flag.String("name", "", "name for the result")
	until := flag.String("until", "", "FILE:N: stop the command when FILE has N lines")
	timeout := flag.Duration("timeout", 20*time.Minute, "give up (and kill) after this long")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "measure: no command")
		os.Exit(2)
	}
	r, err := run(*name, *until, *timeout, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	if r.Exit != 0 && *until == "" || r.TimedOut {
		os.Exit(1)
	}
}

func run(name, until string, timeout time.Duration, args []string) (*result, error) {
	var file string
	var want int64
	if until != "" {
		i := strings.LastIndexByte(until, ':')
		if i < 0 {
			return nil, fmt.Errorf("-until %q: want FILE:N", until)
		}
		file = until[:i]
		n, err := strconv.ParseInt(until[i+1:], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-until %q: %w", until, err)
		}
		want = n
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &result{Name: name}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var werr error
	if file == "" {
		select {
		case werr = <-done:
			r.WallS = time.Since(start).Seconds()
		case <-ctx.Done():
			r.TimedOut = true
			_ = cmd.Process.Kill()
			werr = <-done
		}
	} else {
		var cpuAt [2]float64
		lines, err := waitLines(ctx, file, want, done)
		r.WallS = time.Since(start).Seconds()
		r.Lines = lines
		if err != nil {
			r.TimedOut = true
		}
		cpuAt[0], cpuAt[1], _ = procCPU(cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case werr = <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			werr = <-done
		}
		r.UserS, r.SysS = cpuAt[0], cpuAt[1]
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return nil, werr
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		if file == "" {
			r.UserS = time.Duration(ru.Utime.Nano()).Seconds()
			r.SysS = time.Duration(ru.Stime.Nano()).Seconds()
		}
		r.MaxRSSKiB = ru.Maxrss
	}
	r.CPUS = r.UserS + r.SysS
	r.Exit = cmd.ProcessState.ExitCode()
	return r, nil
}

// waitLines polls file until it holds want lines, the process ends or ctx
// ends, and returns the lines counted.
func waitLines(ctx context.Context, file string, want int64, done <-chan error) (int64, error) {
	var n, off int64
	buf := make([]byte, 1<<20)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if f, err := os.Open(file); err == nil {
			if _, err := f.Seek(off, io.SeekStart); err == nil {
				for {
					k, err := f.Read(buf)
					n += int64(bytes.Count(buf[:k], []byte{'\n'}))
					off += int64(k)
					if err != nil || k == 0 {
						break
					}
				}
			}
			f.Close()
		}
		if n >= want {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case err := <-done:
			return n, fmt.Errorf("process ended before %d lines (%d): %v", want, n, err)
		case <-tick.C:
		}
	}
}

// procCPU returns the user and system CPU seconds a running process has used
// (all its threads), from /proc/PID/stat.
func procCPU(pid int) (user, sys float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces) start after ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	const hz = 100 // USER_HZ on Linux
	return ut / hz, st / hz, nil
}
