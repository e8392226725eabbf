from vibe_ls.cli import main

raise SystemExit(main())
