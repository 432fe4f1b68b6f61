package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measureStart is the start subcommand (see the package comment).
func measureStart(args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	config := fs.String("config", "", "the agent's config file")
	api := fs.String("api", "", "the API address the config listens on")
	waitCheck := fs.Bool("wait-check", false, "sample RSS until the check while running ends, then the idle RSS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *config == "" || *api == "" {
		return errors.New("usage: benchload start -config C.yaml -api ADDR [-wait-check] BIN")
	}
	cmd := exec.Command(fs.Arg(0), "run", "--config", *config)
	out, err := os.CreateTemp("", "benchload-out")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	cmd.Stdout, cmd.Stderr = out, out
	cl := &http.Client{Timeout: 2 * time.Second}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	pid := cmd.Process.Pid
	var ready time.Duration
	for {
		resp, err := cl.Get("http://" + *api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ready = time.Since(t0)
				break
			}
		}
		if time.Since(t0) > 120*time.Second {
			b, _ := os.ReadFile(out.Name())
			return fmt.Errorf("not ready after 120 s: %s", tail(b))
		}
		time.Sleep(time.Millisecond)
	}
	cpu := cpuMillis(pid)
	io := procFields(fmt.Sprintf("/proc/%d/io", pid))
	st := procFields(fmt.Sprintf("/proc/%d/status", pid))
	fmt.Printf("ready_ms=%.1f cpu_ms=%d rchar=%s syscr=%s read_bytes=%s rss_kb=%s rssfile_kb=%s",
		float64(ready.Microseconds())/1000, cpu, io["rchar"], io["syscr"], io["read_bytes"], num(st["VmRSS"]), num(st["RssFile"]))
	if *waitCheck {
		peak, state, took := 0, "", time.Duration(0)
		t1 := time.Now()
		for state != "verified" && state != "damaged" && time.Since(t1) < 300*time.Second {
			if kb, _ := strconv.Atoi(num(procFields(fmt.Sprintf("/proc/%d/status", pid))["VmRSS"])); kb > peak {
				peak = kb
			}
			state = checkState(cl, *api)
			time.Sleep(20 * time.Millisecond)
		}
		took = time.Since(t1)
		time.Sleep(3 * time.Second)
		idle := num(procFields(fmt.Sprintf("/proc/%d/status", pid))["VmRSS"])
		fmt.Printf(" check=%s check_s=%.1f check_peak_kb=%d idle_kb=%s", state, took.Seconds(), peak, idle)
	}
	fmt.Println()
	return nil
}

// checkState is journal.check.state of GET /v1/status ("" when unknown).
func checkState(cl *http.Client, api string) string {
	resp, err := cl.Get("http://" + api + "/v1/status")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var s struct {
		Journal struct {
			Check struct {
				State string `json:"state"`
			} `json:"check"`
		} `json:"journal"`
	}
	if json.NewDecoder(resp.Body).Decode(&s) != nil {
		return ""
	}
	return s.Journal.Check.State
}

// procFields reads "key: value" lines of a /proc file.
func procFields(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// num is the number of "123 kB".
func num(s string) string { return strings.TrimSuffix(s, " kB") }

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// cpuMillis is the CPU time (user and system, every thread) the process
// used so far: on a shared machine, less noisy than the wall clock.
func cpuMillis(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return (u + k) * 1000 / 100 // USER_HZ is 100 on Linux
}
