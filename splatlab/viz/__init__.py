"""Floor 4, visualisation: matplotlib figures, point views and open3d previews, the
JupyterLab explorer. Imports any floor below; nothing imports it but the incident and the CLI.
"""
