package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/check"
)

// TestDamageFoundWhileRunningRefusesPayments: a journal large enough for
// the quick check at start, damaged in a record the start does not read
// (a final payment), starts; the check in the background finds the damage,
// /v1/status and /metrics show it, and a new payment is refused with 503
// journal_damaged.
func TestDamageFoundWhileRunningRefusesPayments(t *testing.T) {
	d := newDaemon(t, "")
	path := d.cfg.Store.Path
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	// Payments are stored compressed: a pad that does not compress keeps
	// the journal above the quick check's 4 MiB.
	rnd := rand.New(rand.NewPCG(1, 2))
	pad := func() string {
		b := make([]byte, 2000)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rnd.IntN(62)]
		}
		return string(b)
	}
	err = st.Update(func(tx *store.Tx) error {
		for i := range 3000 {
			p := &store.Payment{ID: fmt.Sprintf("pay_0%09d", i), OrderID: fmt.Sprintf("OLD%07d", i), Mode: "scan", Wallet: "wechat",
				Amount: 100, Currency: "CAD", State: store.Succeeded, CreatedAt: at, UpdatedAt: at, Error: &store.Error{Code: "pad", Message: pad()}}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var leaves []uint64
	pages, err := check.Pages(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if p.Type == "leaf" && p.Bucket == "payments" {
			leaves = append(leaves, p.ID)
		}
	}
	leaf := int(leaves[len(leaves)/2])
	b, _ := os.ReadFile(path)
	i := paymentValue(b[leaf*4096 : (leaf+1)*4096])
	if i < 0 {
		t.Fatal("no payment record found")
	}
	b[leaf*4096+i] = '['
	os.WriteFile(path, b, 0o600)

	addr := d.start().API
	var status struct {
		Journal struct {
			Check store.CheckStatus `json:"check"`
		} `json:"journal"`
	}
	// The background check runs niced: on a loaded machine it can take a
	// while to reach the damaged page; wait for it, not for a count of polls.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && status.Journal.Check.State != store.CheckDamaged; {
		time.Sleep(20 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&status)
		resp.Body.Close()
	}
	if c := status.Journal.Check; c.State != store.CheckDamaged || len(c.Findings) == 0 || !strings.Contains(c.Findings[0].String(), "payments pay_0") {
		t.Fatalf("/v1/status journal.check: %+v", c)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/payments", strings.NewReader(`{"amount":1250,"currency":"CAD","mode":"scan"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "after-damage")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "journal_damaged") || !strings.Contains(string(body), "posagent journal check") {
		t.Fatalf("new payment on a damaged journal: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\nposagent_journal_damaged 1\n") {
		t.Error("/metrics: no posagent_journal_damaged 1")
	}
}
