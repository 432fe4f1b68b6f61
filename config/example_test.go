package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/posagent/posagent/config"
)

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "posagent-example-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "posagent.yaml")
	os.WriteFile(path, []byte("device:\n  profile: sunmi-t2\nprinter:\n  papr: 58mm\n"), 0o600)

	// An unknown key: Load names it, its line and the closest known key.
	_, _, err := config.Load(path, nil)
	fmt.Println(err.(*config.Error).Problems[0])

	os.WriteFile(path, []byte("device:\n  profile: sunmi-t2\nprinter:\n  paper: 58mm\n  dots: 384\n"), 0o600)
	cfg, src, err := config.Load(path, []string{"POSAGENT_GATEWAY_SIGN_KEY=0123456789ABCDEF",
		"POSAGENT_API_TOKENS_POS=0123456789abcdef0", "POSAGENT_BRIDGE_TOKEN=fedcba9876543210f"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("valid:", cfg.Validate() == nil)
	fmt.Println("paper:", cfg.Printer.Paper, "from the file;", "feed_cut:", cfg.Printer.FeedCut, "from", src.Of("printer.feed_cut"))
	fmt.Println("sign_key from", src.Of("gateway.sign_key"))
	// Output:
	// line 4: unknown key printer.papr (did you mean printer.paper?)
	// valid: true
	// paper: 58mm from the file; feed_cut: false from profile sunmi-t2
	// sign_key from env POSAGENT_GATEWAY_SIGN_KEY
}

func ExampleConfig_Validate() {
	cfg, _, _ := config.Load(os.DevNull, nil)
	cfg.API.Listen = "0.0.0.0:7420"
	cfg.Printer.Paper = "70mm"
	fmt.Println(cfg.Validate())
	// Output:
	// config: 2 problems:
	//   api.listen 0.0.0.0:7420 is not loopback: set api.token (or POSAGENT_API_TOKEN), or listen on 127.0.0.1:7420
	//   printer.paper 70mm: use 58mm or 80mm
}
