"""What the flow needs from AMD's tools and FINN's external dependencies, resolved once.

``tools``: the Vivado / Vitis HLS install a build uses (``--vivado DIR``, else ``XILINX_VIVADO``, else
PATH) and the HLS command FINN will call for that version. ``environment``: the variables FINN's own
command line (``finn/interface/run_finn.py``) sets, set by the flow itself and written into the build
folder as a script a user can source. ``steps``: the ip and bitstream steps.
"""
