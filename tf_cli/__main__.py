from tf_cli.main import main

main()
