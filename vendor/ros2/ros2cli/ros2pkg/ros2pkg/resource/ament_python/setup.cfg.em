[develop]
script_dir=$base/lib/@(project_name)
[install]
install_scripts=$base/lib/@(project_name)
