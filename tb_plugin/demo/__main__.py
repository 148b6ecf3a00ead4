from tb_plugin.demo.runs import main

main()
