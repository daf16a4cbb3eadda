def main():
    print('Hi from @project_name.')


if __name__ == '__main__':
    main()
