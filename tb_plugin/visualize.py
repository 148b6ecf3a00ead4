"""`python -m tb_plugin.visualize RUN_DIR --model model.keras --layer L`: activation maximisation.

The command lives in `tb_plugin.keras.visualize` (it needs Keras); see there.
"""

from tb_plugin.keras.visualize import main

if __name__ == "__main__":
    main()
