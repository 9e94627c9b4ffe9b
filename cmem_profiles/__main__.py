from cmem_profiles.main import main

raise SystemExit(main())
