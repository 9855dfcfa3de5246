from weixi.entry import main

main()
