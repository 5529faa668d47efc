from ml_connector.cli import main

main()
