from liveai_cli.main import main

main()
