from beluga.cli.main import main

main()
